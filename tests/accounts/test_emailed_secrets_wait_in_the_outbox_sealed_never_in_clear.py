"""An email that carries a secret — the one-time enrolment code, the password reset link — waits in the
outbox sealed: the stored row (as the database holds it, before and after delivery) never contains the
secret, while the person still receives it in clear. A row sealed under a key the portal no longer has
fails for good with a message saying why, instead of being retried forever."""

import re

import pytest
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from accounts import services
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b")


def _stored_text(row: OutboxMessage) -> str:
    """The row as the database holds it (what a backup or a read-only database user sees)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload, last_error FROM notifications_outboxmessage WHERE id = %s", [row.pk])
        payload, last_error = cursor.fetchone()
    return f"{payload} {last_error}"


def test_the_enrolment_code_is_sealed_in_the_outbox_and_arrives_in_clear(client, directory, requester, delivered):
    client.force_login(requester)
    client.post(reverse("accounts:enrolment_code_email"))
    [row] = OutboxMessage.objects.filter(channel="email", payload__to="requester@example.com")
    before = _stored_text(row)

    [message] = [m for m in delivered("requester@example.com") if CODE.search(m.body)]
    code = CODE.search(message.body).group(0)
    assert code in message.alternatives[0][0]  # the HTML part too
    row.refresh_from_db()
    assert row.status == OutboxMessage.Status.DELIVERED
    for stored in (before, _stored_text(row)):
        assert code not in stored and code.replace("-", "") not in stored
    assert row.payload["template"] == "email/mfa_enrolment_code" and "context" not in row.payload


@override_settings(PIM_PASSWORD_RESET=True, SITE_URL="https://pim.contoso.example")
def test_the_password_reset_link_is_sealed_in_the_outbox(client, directory, requester, delivered):
    client.post(reverse("account_reset_password"), {"email": "requester@example.com"})
    [row] = OutboxMessage.objects.filter(channel="email", payload__to="requester@example.com")
    before = _stored_text(row)

    [message] = delivered("requester@example.com")
    [link] = re.findall(r"https://pim\.contoso\.example/accounts/password/reset/key/(\S+)/", message.body)
    row.refresh_from_db()
    for stored in (before, _stored_text(row)):
        assert link not in stored and "reset/key" not in stored


def test_a_row_sealed_under_a_lost_key_fails_for_good_saying_why(settings, directory, requester):
    services.mfa_enrolment_code_email(user=requester)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with override_settings(SECRET_KEY="another-key-" * 6, SECRET_KEY_FALLBACKS=[]):
        while outbox_relay_once(limit=1000):
            pass
    row = OutboxMessage.objects.get(channel="email", payload__to="requester@example.com",
                                    payload__template="email/mfa_enrolment_code")
    assert row.status == OutboxMessage.Status.FAILED
    assert "SECRET_KEY" in row.last_error
