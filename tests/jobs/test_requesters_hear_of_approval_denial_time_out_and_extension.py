"""The requester is told the outcome of their request — approved, denied (with the reason),
timed out — and holders and admins are told of extensions; each once, with absolute links."""

from datetime import timedelta

import time_machine
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from approvals import services as approval_services
from approvals import sweeps
from assignments import services
from notifications.outbox import outbox_relay_once


def _decided(outbox, outcome):
    return [m for m in outbox.rows("email/request_decided") if m.payload["context"]["outcome"] == outcome]


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_approved_and_denied_requests_are_announced_to_the_requester(directory, requester, policy, activate, outbox):
    approver = directory.user("approver")
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    policy("exchange-administrator", require_approval=True, approvers=[approver])
    first = activate(requester, directory.grant(requester, "helpdesk-administrator", kind="eligible"))
    second = activate(requester, directory.grant(requester, "exchange-administrator", kind="eligible"))

    approval_services.request_approve(actor=approver, request=first, comment="ok")
    approval_services.request_deny(actor=approver, request=second, comment="Not during the freeze")

    [approved] = _decided(outbox, "approved")
    [denied] = _decided(outbox, "denied")
    assert approved.payload["to"] == denied.payload["to"] == "requester@example.com"
    assert denied.payload["context"]["comment"] == "Not during the freeze"
    assert approved.payload["context"]["request_link"] == (
        settings.SITE_URL + reverse("approvals:request_detail", args=[first.pk]))
    outbox_relay_once(limit=1000)
    subjects = sorted(m.subject for m in mail.outbox if m.to == ["requester@example.com"])
    assert "PIM: Your request to activate Helpdesk Administrator was approved" in subjects
    assert "PIM: Your request to activate Exchange Administrator was denied" in subjects
    denial = next(m for m in mail.outbox if m.subject.endswith("was denied"))
    assert "Not during the freeze" in denial.body


def test_a_request_nobody_decided_times_out_and_the_requester_is_told_once(directory, requester, policy, activate,
                                                                          outbox):
    policy("helpdesk-administrator", require_approval=True, approvers=[directory.user("approver")],
           approval_window_minutes=60)
    request = activate(requester, directory.grant(requester, "helpdesk-administrator", kind="eligible"))

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert sweeps.requests_time_out() == 1
        assert sweeps.requests_time_out() == 0

    [timed_out] = _decided(outbox, "timed_out")
    assert timed_out.payload["to"] == "requester@example.com"
    assert timed_out.payload["context"]["request_id"] == str(request.pk)


def test_an_extension_is_announced_to_the_holder_and_the_admins(directory, global_admin, requester, outbox):
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible",
                                  end=timezone.now() + timedelta(days=3))
    services.assignment_extend(actor=global_admin, assignment=eligibility, end_at=timezone.now() + timedelta(days=60),
                               mfa_verified_at=timezone.now())

    rows = outbox.rows("email/extended")
    assert sorted(m.payload["to"] for m in rows) == ["gadmin@example.com", "requester@example.com"]
    assert rows[0].payload["context"]["verb"] == "extended"
