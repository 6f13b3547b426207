"""A stolen password must not be enough to enrol the first authenticator and then pass the MFA
step-up with it. The first enrolment needs a one-time enrolment code (emailed to the user, or
issued by a directory administrator); without it nothing is enrolled and the session is not verified."""

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from core.mfa import SESSION_KEY


def _enrol(client, user, totp_code, **extra):
    client.get(reverse("accounts:totp_enrol"))
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    return device, client.post(reverse("accounts:totp_enrol"),
                               {"device_id": device.pk, "token": totp_code(device), "next": "/requests/roles/",
                                **extra})


def test_a_password_only_session_cannot_enrol_without_a_code(client, directory, requester, totp_code):
    client.force_login(requester)
    device, response = _enrol(client, requester, totp_code)
    assert response.status_code == 200 and b"enrolment code" in response.content
    device.refresh_from_db()
    assert not device.confirmed
    assert SESSION_KEY not in client.session
    # … so the step-up page still has no device to verify against and sends the user back to enrolment.
    assert client.get(reverse("accounts:verify"))["Location"].startswith(reverse("accounts:totp_enrol"))
    assert AuditEvent.objects.filter(action="mfa.enrol", outcome="denied").exists()


def test_a_wrong_code_is_refused(client, directory, requester, totp_code, enrolment_code):
    enrolment_code(requester)
    client.force_login(requester)
    device, response = _enrol(client, requester, totp_code, enrolment_code="ABCDE-FGHJK")
    assert response.status_code == 200 and b"enrolment code is not right" in response.content
    device.refresh_from_db()
    assert not device.confirmed and SESSION_KEY not in client.session


def test_with_the_code_the_device_is_enrolled_and_the_session_verified(client, directory, requester, totp_code,
                                                                       enrolment_code):
    code = enrolment_code(requester)
    client.force_login(requester)
    device, response = _enrol(client, requester, totp_code, enrolment_code=code.lower().replace("-", " "))
    assert response.status_code == 302 and response["Location"] == "/requests/roles/"
    device.refresh_from_db()
    assert device.confirmed
    assert SESSION_KEY in client.session
