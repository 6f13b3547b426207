"""A user without a mailbox gets their enrolment code from a directory administrator (Global or
Privileged Role Administrator), on the user's page: shown once, stored hashed, audited; never for
the administrator's own account (a stolen admin password must not enrol its own authenticator)."""

from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from accounts.models import EnrolmentCode
from audit.models import AuditEvent


def _code_on(page) -> str:
    return page.content.decode().split('data-testid="enrolment-code">', 1)[1].split("<", 1)[0].strip()


def test_the_code_is_shown_once_and_lets_the_user_enrol(directory, role_admin, pra_client, totp_code):
    person = directory.user("person")
    detail = pra_client.get(reverse("assignments:principal", args=[person.principal.pk]))
    issue_url = reverse("accounts:enrolment_code_issue", args=[person.pk])
    assert issue_url.encode() in detail.content

    page = pra_client.post(issue_url)
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    code = _code_on(page)
    assert len(code) == 11
    row = EnrolmentCode.objects.get(user=person)
    assert row.channel == "admin" and row.issued_by == role_admin and code not in row.code_hash
    assert code.encode() not in pra_client.get(reverse("assignments:principal", args=[person.principal.pk])).content
    event = AuditEvent.objects.get(action="mfa.enrolment_code")
    assert event.actor_id == role_admin.pk and event.target_id == str(person.pk) and code not in event.message

    device = services.mfa_totp_enrol_start(user=person)
    enrolled = services.mfa_totp_enrol_confirm(actor=person, device_id=device.pk, token=totp_code(device),
                                               enrolment_code=code)
    assert enrolled.device.confirmed and enrolled.enrolment_code == row


def test_readers_and_requesters_cannot_issue_codes(directory, login):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    person = directory.user("person")
    url = reverse("accounts:enrolment_code_issue", args=[person.pk])
    assert url.encode() not in login(reader).get(reverse("assignments:principal", args=[person.principal.pk])).content
    assert login(reader).post(url).status_code == 403
    assert login(person).post(url).status_code == 403
    assert not EnrolmentCode.objects.exists()
    assert AuditEvent.objects.filter(action="mfa.enrolment_code", outcome="denied").count() == 2


def test_an_administrator_cannot_issue_a_code_for_themselves(directory, role_admin, pra_client):
    response = pra_client.post(reverse("accounts:enrolment_code_issue", args=[role_admin.pk]))
    assert response.status_code == 403 and b"another administrator" in response.content
    assert not EnrolmentCode.objects.exists() and not TOTPDevice.objects.exists()


def test_an_unknown_user_is_a_404(directory, pra_client):
    assert pra_client.post(reverse("accounts:enrolment_code_issue", args=[999999])).status_code == 404
