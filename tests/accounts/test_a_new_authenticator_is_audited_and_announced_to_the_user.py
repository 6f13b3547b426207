"""Every new authenticator is audited and the user hears of it by email, so that an authenticator
added by somebody else does not go unnoticed."""

from django.core import mail
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from core.mfa import SESSION_KEY
from notifications.outbox import outbox_relay_once


def test_enrolment_is_audited_and_emailed(client, directory, requester, totp_code, enrolment_code):
    code = enrolment_code(requester)
    mail.outbox.clear()
    client.force_login(requester)
    client.get(reverse("accounts:totp_enrol"))
    device = TOTPDevice.objects.get(user=requester, confirmed=False)
    response = client.post(reverse("accounts:totp_enrol"), {"device_id": device.pk, "token": totp_code(device),
                                                            "enrolment_code": code})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="mfa.enrol", outcome="success")
    assert event.actor_id == requester.pk and "emailed enrolment code" in event.message

    outbox_relay_once()
    [notice] = [m for m in mail.outbox if m.to == ["requester@example.com"]]
    assert notice.subject == "PIM: A new authenticator was added to your account"
    assert "If this was not you" in notice.body
    assert SESSION_KEY in client.session
