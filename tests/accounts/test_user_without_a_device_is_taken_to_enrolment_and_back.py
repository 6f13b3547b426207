from urllib.parse import parse_qs, urlparse

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice


def test_verify_without_device_goes_to_enrolment_which_returns_to_next(client, directory, requester, totp_code,
                                                                        enrolment_code):
    code = enrolment_code(requester)
    client.force_login(requester)
    response = client.get(reverse("accounts:verify") + "?next=/requests/roles/7/activate/")
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert target.path == reverse("accounts:totp_enrol")
    assert parse_qs(target.query)["next"] == ["/requests/roles/7/activate/"]

    page = client.get(response["Location"]).content.decode()
    assert 'name="next" value="/requests/roles/7/activate/"' in page
    device = TOTPDevice.objects.get(user=requester, confirmed=False)
    done = client.post(response["Location"], {"device_id": device.pk, "token": totp_code(device),
                                              "enrolment_code": code, "next": "/requests/roles/7/activate/"})
    assert done.status_code == 302 and done["Location"] == "/requests/roles/7/activate/"


def test_adding_a_second_device_needs_a_fresh_verification(client, directory, requester):
    TOTPDevice.objects.create(user=requester, name="app", confirmed=True)
    client.force_login(requester)
    response = client.get(reverse("accounts:totp_enrol"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:verify"))
