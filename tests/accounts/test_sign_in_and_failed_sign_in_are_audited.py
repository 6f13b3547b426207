from django.urls import reverse

from audit.models import AuditEvent
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_success_is_audited_and_recorded_as_last_sign_in(client, directory, requester):
    assert requester.last_login is None
    response = client.post(reverse("account_login"), {"login": "requester", "password": "pw-for-tests-123"})
    assert response.status_code == 302
    requester.refresh_from_db()
    assert requester.last_login is not None
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert event.actor_id == requester.pk and event.outcome == "success"


def test_sign_in_by_email_works_too(client, directory, requester):
    response = client.post(reverse("account_login"), {"login": "requester@example.com",
                                                       "password": "pw-for-tests-123"})
    assert response.status_code == 302


def test_failure_is_audited_as_denied_without_the_password(client, directory, requester):
    response = client.post(reverse("account_login"), {"login": "requester", "password": "wrong-password-1"})
    assert response.status_code == 400
    assert b"not correct" in response.content or b"incorrect" in response.content.lower()
    event = AuditEvent.objects.get(action="auth.sign_in_failed")
    assert event.outcome == "denied" and event.target_label == "requester"
    assert "wrong-password-1" not in (event.message + event.target_label + str(event.after))


def test_a_disabled_user_cannot_sign_in(client, directory, requester):
    from assignments import services

    services.user_set_enabled(user=requester, enabled=False, actor=SETUP)
    response = client.post(reverse("account_login"), {"login": "requester", "password": "pw-for-tests-123"})
    assert response.status_code != 302 or "/accounts/inactive/" in response["Location"]
    assert not AuditEvent.objects.filter(action="auth.sign_in").exists()
