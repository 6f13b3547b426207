import re

from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.mfa import SESSION_KEY


def _fresh(client):
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()


def test_ten_codes_shown_once_each_usable_once(client, directory, requester):
    TOTPDevice.objects.create(user=requester, name="app", confirmed=True)
    client.force_login(requester)
    stale = client.post(reverse("accounts:backup_codes"))
    assert stale.status_code == 302 and stale["Location"].startswith(reverse("accounts:verify"))
    _fresh(client)
    page = client.post(reverse("accounts:backup_codes")).content.decode()
    codes = re.findall(r"<li>([a-z0-9]+)</li>", page.split('data-testid="backup-codes"')[1].split("</ul>")[0])
    assert len(codes) == 10 and len(set(codes)) == 10
    assert not any(code in client.get(reverse("accounts:backup_codes")).content.decode() for code in codes)

    assert client.post(reverse("accounts:verify"), {"token": codes[0]}).status_code == 302
    assert client.post(reverse("accounts:verify"), {"token": codes[0]}).status_code == 400
    assert b"9 unused" in client.get(reverse("accounts:security")).content


def test_backup_codes_need_an_authenticator_first(client, directory, requester):
    client.force_login(requester)
    _fresh(client)
    response = client.post(reverse("accounts:backup_codes"), follow=True)
    assert b"Enrol an authenticator app before" in response.content
