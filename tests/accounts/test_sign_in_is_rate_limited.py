from django.urls import reverse

from audit.models import AuditEvent


def test_after_five_failures_even_the_right_password_is_refused(client, directory, requester):
    url = reverse("account_login")
    for _ in range(5):
        client.post(url, {"login": "requester", "password": "wrong-password-1"})
    response = client.post(url, {"login": "requester", "password": "pw-for-tests-123"})
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == 5
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()


def test_a_rate_limited_sign_in_answers_429_with_retry_after_and_a_wrong_password_400(client, directory, requester):
    url = reverse("account_login")
    wrong = client.post(url, {"login": "requester", "password": "wrong-password-1"})
    assert wrong.status_code == 400  # an ordinary refused form
    assert "Retry-After" not in wrong
    for _ in range(4):
        client.post(url, {"login": "requester", "password": "wrong-password-1"})
    limited = client.post(url, {"login": "requester", "password": "pw-for-tests-123"})
    # Clients, proxies and monitoring tell "slow down" from "wrong password" by the status alone.
    assert limited.status_code == 429
    assert limited["Retry-After"] == "300"  # the longest window of the default "10/m/ip,5/5m/key"
    assert b"Too many failed login attempts" in limited.content  # the page still says so in words
