"""Adding a second authenticator needs a fresh verification with the first one; the new device itself
proves nothing about this session, so the session's verification time stays what it was."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.mfa import SESSION_KEY


def test_the_verification_time_is_not_moved_by_enrolling(client, directory, requester, totp_code):
    TOTPDevice.objects.create(user=requester, name="phone", confirmed=True)
    client.force_login(requester)
    verified = (timezone.now() - timedelta(minutes=9)).isoformat()
    session = client.session
    session[SESSION_KEY] = verified
    session.save()

    client.get(reverse("accounts:totp_enrol"))
    device = TOTPDevice.objects.get(user=requester, confirmed=False)
    response = client.post(reverse("accounts:totp_enrol"), {"device_id": device.pk, "token": totp_code(device)})
    assert response.status_code == 302
    assert TOTPDevice.objects.filter(user=requester, confirmed=True).count() == 2
    assert client.session[SESSION_KEY] == verified
