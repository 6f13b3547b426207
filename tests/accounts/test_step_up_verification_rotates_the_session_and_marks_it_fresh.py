from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import AuditEvent
from core.mfa import SESSION_KEY, mfa_is_fresh


def test_a_right_code_rotates_the_session_key_and_returns_to_next(client, directory, requester, totp_code):
    device = TOTPDevice.objects.create(user=requester, name="app", confirmed=True)
    client.force_login(requester)
    before = client.session.session_key
    response = client.post(reverse("accounts:verify"), {"token": totp_code(device), "next": "/requests/"})
    assert response.status_code == 302 and response["Location"] == "/requests/"
    assert client.session.session_key != before
    assert SESSION_KEY in client.session
    assert AuditEvent.objects.filter(action="mfa.verify", outcome="success").count() == 1


def test_a_wrong_or_replayed_code_is_refused_and_audited(client, directory, requester, totp_code):
    device = TOTPDevice.objects.create(user=requester, name="app", confirmed=True)
    client.force_login(requester)
    code = totp_code(device)
    client.post(reverse("accounts:verify"), {"token": code})
    replay = client.post(reverse("accounts:verify"), {"token": code})
    assert replay.status_code == 400 and b"not right" in replay.content
    wrong = client.post(reverse("accounts:verify"), {"token": "12345x"})
    assert wrong.status_code == 400
    assert AuditEvent.objects.filter(action="mfa.verify_failed", outcome="denied").count() == 2


def test_an_offsite_next_is_ignored(client, directory, requester, totp_code):
    device = TOTPDevice.objects.create(user=requester, name="app", confirmed=True)
    client.force_login(requester)
    response = client.post(reverse("accounts:verify"), {"token": totp_code(device), "next": "https://evil.example/"})
    assert response.status_code == 302 and "evil" not in response["Location"]


def test_freshness_lasts_ten_minutes(rf, directory, requester):
    from django.contrib.sessions.backends.db import SessionStore

    request = rf.get("/")
    request.session = SessionStore()
    request.session[SESSION_KEY] = timezone.now().isoformat()
    with time_machine.travel(timezone.now() + timedelta(minutes=9)):
        assert mfa_is_fresh(request)
    with time_machine.travel(timezone.now() + timedelta(minutes=11)):
        assert not mfa_is_fresh(request)
