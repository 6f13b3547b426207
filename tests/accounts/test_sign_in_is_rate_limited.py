from django.urls import reverse

from audit.models import AuditEvent


def test_after_five_failures_even_the_right_password_is_refused(client, directory, requester):
    url = reverse("account_login")
    for _ in range(5):
        client.post(url, {"login": "requester", "password": "wrong-password-1"})
    response = client.post(url, {"login": "requester", "password": "pw-for-tests-123"})
    assert response.status_code in (400, 429)
    assert b"Too many failed login attempts" in response.content
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sign_in_failed").count() == 5
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()
