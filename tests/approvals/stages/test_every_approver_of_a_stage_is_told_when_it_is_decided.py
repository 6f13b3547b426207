"""Each stage's approvers are asked when their stage opens (not before), and every one of them is told
when it is decided: approved and moved on, escalated to the fallback approvers, or the request closed."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services

pytestmark = pytest.mark.django_db


def test_stage_approvers_are_asked_in_turn_and_told_when_their_stage_is_decided(
        directory, requester, stages, eligible, activate, approve, outbox):
    a1, a2 = directory.user("a1"), directory.user("a2")
    b1, b2 = directory.user("b1"), directory.user("b2")
    stages("helpdesk-administrator", [dict(approvers=[a1, a2]), dict(approvers=[b1, b2])])
    request = activate(requester, eligible(requester))
    assert outbox.recipients("email/approval_request") == ["a1@example.com", "a2@example.com"]

    approve(a1, request)
    asked = outbox.recipients("email/approval_request")
    assert asked == ["a1@example.com", "a2@example.com", "b1@example.com", "b2@example.com"]
    assert outbox.recipients("email/stage_decided") == ["a1@example.com", "a2@example.com"]

    services.request_deny(actor=b2, request=request, comment="no")
    # Stage 2 is decided by the denial: its other approver hears the request is closed.
    assert outbox.recipients("email/request_closed") == ["b1@example.com"]


def test_an_escalation_asks_the_fallback_and_tells_the_first_approvers(
        directory, requester, stages, eligible, activate, outbox):
    first, fallback = directory.user("first"), directory.user("fallback")
    stages("helpdesk-administrator", [dict(approvers=[first], timeout_minutes=60, escalate_on_timeout=True,
                                           fallback_approvers=[fallback])])
    request = activate(requester, eligible(requester))
    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        services.request_expire_overdue()
    assert outbox.recipients("email/approval_request") == ["fallback@example.com", "first@example.com"]
    assert outbox.recipients("email/stage_decided") == ["first@example.com"]
    assert request.pk
