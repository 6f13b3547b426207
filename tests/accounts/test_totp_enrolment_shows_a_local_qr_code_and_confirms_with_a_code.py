from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from core.mfa import SESSION_KEY


def test_enrol_with_the_code_from_the_app(client, directory, requester, totp_code, enrolment_code):
    code = enrolment_code(requester)
    client.force_login(requester)
    page = client.get(reverse("accounts:totp_enrol")).content.decode()
    assert "<svg" in page and "http" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    device = TOTPDevice.objects.get(user=requester, confirmed=False)
    assert client.get(reverse("accounts:totp_enrol")) and TOTPDevice.objects.filter(user=requester).count() == 1

    bad = client.post(reverse("accounts:totp_enrol"), {"device_id": device.pk, "token": "000000",
                                                       "enrolment_code": code})
    assert bad.status_code == 200 and b"not right" in bad.content
    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    response = client.post(reverse("accounts:totp_enrol"), {"device_id": device.pk, "token": totp_code(device),
                                                            "enrolment_code": code, "next": "/requests/roles/"})
    assert response.status_code == 302 and response["Location"] == "/requests/roles/"
    device.refresh_from_db()
    assert device.confirmed
    assert SESSION_KEY in client.session
    assert list(AuditEvent.objects.filter(action="mfa.enrol").order_by("seq").values_list("outcome", flat=True)) == [
        "denied", "success"]


def test_another_users_pending_device_cannot_be_confirmed(client, directory, requester, totp_code):
    other = directory.user("other")
    theirs = TOTPDevice.objects.create(user=other, name="x", confirmed=False)
    client.force_login(requester)
    response = client.post(reverse("accounts:totp_enrol"), {"device_id": theirs.pk, "token": totp_code(theirs)})
    assert response.status_code == 200 and b"no longer pending" in response.content
    theirs.refresh_from_db()
    assert not theirs.confirmed
