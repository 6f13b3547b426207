"""The enrolment code a user asks for is emailed through the outbox (subject `PIM: …`), stored only
as a hash, valid for 30 minutes, works once, is replaced by a newer code and dies after 5 wrong tries."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import EnrolmentCode
from audit.models import AuditEvent
from core.errors import DomainError
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once


def _confirm(user, code, totp_code):
    device = services.mfa_totp_enrol_start(user=user)
    return services.mfa_totp_enrol_confirm(actor=user, device_id=device.pk, token=totp_code(device),
                                           enrolment_code=code)


def test_the_page_emails_a_code_that_is_stored_only_as_a_hash(client, directory, requester):
    client.force_login(requester)
    response = client.post(reverse("accounts:enrolment_code_email"), {"next": "/requests/roles/"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:totp_enrol"))
    assert OutboxMessage.objects.filter(channel="email", payload__to="requester@example.com").count() == 1
    outbox_relay_once()
    sent = mail.outbox[-1]
    assert sent.subject.startswith("PIM: ") and sent.to == ["requester@example.com"]
    code = next(word for word in sent.body.split() if len(word) == 11 and word[5] == "-")
    row = EnrolmentCode.objects.get(user=requester)
    assert row.channel == "email" and code not in row.code_hash and code.replace("-", "") not in row.code_hash
    assert row.expires_at - row.created_at == timedelta(minutes=30)
    assert AuditEvent.objects.filter(action="mfa.enrolment_code", target_id=str(requester.pk)).exists()


def test_a_code_expires_after_thirty_minutes(directory, requester, totp_code, enrolment_code):
    code = enrolment_code(requester)
    with time_machine.travel(timezone.now() + timedelta(minutes=31)):
        with pytest.raises(DomainError, match="enrolment code"):
            _confirm(requester, code, totp_code)


def test_a_code_works_once(directory, requester, totp_code, enrolment_code):
    code = enrolment_code(requester)
    _confirm(requester, code, totp_code)
    TOTPDevice.objects.filter(user=requester).delete()  # the phone is lost: back to no authenticator
    with pytest.raises(DomainError, match="enrolment code"):
        _confirm(requester, code, totp_code)


def test_a_newer_code_replaces_the_older_one(directory, requester, totp_code, enrolment_code):
    older = enrolment_code(requester)
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        newer = enrolment_code(requester)
        with pytest.raises(DomainError, match="enrolment code"):
            _confirm(requester, older, totp_code)
        assert _confirm(requester, newer, totp_code).device.confirmed


def test_five_wrong_codes_void_the_right_one(directory, requester, totp_code, enrolment_code):
    code = enrolment_code(requester)
    for _ in range(5):
        with pytest.raises(DomainError):
            _confirm(requester, "AAAAA-AAAAA", totp_code)
    with pytest.raises(DomainError, match="enrolment code"):
        _confirm(requester, code, totp_code)


def test_a_second_request_within_a_minute_is_refused(client, directory, requester, enrolment_code):
    enrolment_code(requester)
    client.force_login(requester)
    response = client.post(reverse("accounts:enrolment_code_email"), follow=True)
    assert b"less than a minute ago" in response.content
    assert EnrolmentCode.objects.filter(user=requester).count() == 1


def test_a_user_without_an_email_address_is_told_to_ask_an_administrator(client, directory):
    user = directory.user("nomail", email="")
    user.email = ""
    user.save()
    client.force_login(user)
    response = client.post(reverse("accounts:enrolment_code_email"), follow=True)
    assert b"ask a directory administrator" in response.content
    assert not EnrolmentCode.objects.exists()
