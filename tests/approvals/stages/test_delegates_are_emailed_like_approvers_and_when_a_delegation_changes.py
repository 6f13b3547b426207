"""A delegate decides for their delegator, so they are emailed through the outbox like an approver: when
a request they may decide arrives (its first stage, the next stage, an escalation to a fallback approver
who delegated), and when a delegation to them is created or revoked. Never for their own request, and
not once the delegation is revoked."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services

pytestmark = pytest.mark.django_db


def _delegate(boss, deputy, **kwargs):
    now = timezone.now()
    return services.delegation_create(actor=boss, delegate=deputy, starts_at=now - timedelta(minutes=1),
                                      ends_at=now + timedelta(days=3), **kwargs)


def test_the_delegate_is_told_of_the_delegation_and_of_its_revocation(directory, outbox):
    boss, deputy = directory.user("boss"), directory.user("deputy")
    delegation = _delegate(boss, deputy, reason="holiday")
    [created] = outbox.rows("email/delegation_changed")
    assert created.payload["to"] == "deputy@example.com"
    assert created.payload["context"]["delegator"] == "Boss" and created.payload["context"]["reason"] == "holiday"
    services.delegation_revoke(actor=boss, delegation=delegation)
    revoked = outbox.rows("email/delegation_changed")[-1]
    assert revoked.payload["to"] == "deputy@example.com" and revoked.payload["context"]["revoked"] is True
    assert revoked.payload["context"]["revoked_by"] == "Boss"


def test_the_delegate_is_asked_when_a_request_reaches_the_delegators_stage(directory, requester, stages, eligible,
                                                                           activate, approve, outbox):
    a1, b1, deputy = directory.user("a1"), directory.user("b1"), directory.user("deputy")
    stages("helpdesk-administrator", [dict(approvers=[a1]), dict(approvers=[b1])])
    _delegate(b1, deputy)
    request = activate(requester, eligible(requester))
    assert outbox.recipients("email/approval_request") == ["a1@example.com"]  # not the second stage's yet
    approve(a1, request)
    assert outbox.recipients("email/approval_request") == ["a1@example.com", "b1@example.com", "deputy@example.com"]


def test_a_fallback_approvers_delegate_is_asked_on_escalation(directory, requester, stages, eligible, activate,
                                                              outbox):
    first, fallback, deputy = directory.user("first"), directory.user("fallback"), directory.user("deputy")
    stages("helpdesk-administrator", [dict(approvers=[first], timeout_minutes=60, escalate_on_timeout=True,
                                           fallback_approvers=[fallback])])
    _delegate(fallback, deputy)
    request = activate(requester, eligible(requester))
    with time_machine.travel(request.approval_deadline, tick=False):
        services.request_escalate_overdue()
    assert outbox.recipients("email/approval_request") == ["deputy@example.com", "fallback@example.com",
                                                           "first@example.com"]


def test_no_email_for_the_delegates_own_request_nor_after_revocation(directory, stages, eligible, activate,
                                                                     outbox):
    boss, deputy, asker = directory.user("boss"), directory.user("deputy"), directory.user("asker")
    stages("helpdesk-administrator", [dict(approvers=[boss])])
    delegation = _delegate(boss, deputy)
    activate(deputy, eligible(deputy))
    assert outbox.recipients("email/approval_request") == ["boss@example.com"]
    services.delegation_revoke(actor=deputy, delegation=delegation)  # the delegate declines it
    activate(asker, eligible(asker))
    assert outbox.recipients("email/approval_request") == ["boss@example.com", "boss@example.com"]
