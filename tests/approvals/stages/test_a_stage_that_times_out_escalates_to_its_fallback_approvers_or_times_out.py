"""A stage nobody decided in time: with escalation it goes, once, to its fallback approvers for another
timeout (the first approvers can no longer decide, the fallback ones can); without, the request times
out as before. An escalated stage that times out again times the request out."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import selectors, services
from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_escalation_hands_the_stage_to_its_fallback(directory, requester, stages, eligible, activate, approve):
    first, fallback, second = directory.user("first"), directory.user("fallback"), directory.user("second")
    stages("helpdesk-administrator", [
        dict(approvers=[first], timeout_minutes=60, escalate_on_timeout=True, fallback_approvers=[fallback]),
        dict(approvers=[second], timeout_minutes=120)])
    start = timezone.now()
    request = activate(requester, eligible(requester))
    stage_deadline = request.approval_deadline
    assert not selectors.approver_can_decide(user=fallback, request=request)

    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert services.request_expire_overdue() == 0  # escalated, not timed out
        request.refresh_from_db()
        assert request.status == Request.Status.PENDING_APPROVAL and request.stage_escalated
        # Another timeout from when the stage timed out, not from when the sweep got to it.
        assert request.approval_deadline == stage_deadline + timedelta(minutes=60)
        assert services.request_escalate_overdue() == 0, "escalated once only"
        assert AuditEvent.objects.filter(action="request.escalate", correlation_id=request.pk).count() == 1
        assert not selectors.approver_can_decide(user=first, request=request)
        with pytest.raises(DomainError):
            approve(first, request)
        approve(fallback, request)
        request.refresh_from_db()
        assert request.approval_stage.position == 2 and not request.stage_escalated
        assert request.approval_deadline == start + timedelta(minutes=61) + timedelta(minutes=120)

    # Stage 2 does not escalate: past its timeout the request times out.
    with time_machine.travel(start + timedelta(minutes=61 + 121), tick=False):
        assert services.request_expire_overdue() == 1
        request.refresh_from_db()
        assert request.status == Request.Status.TIMED_OUT


def test_an_escalated_stage_that_times_out_again_times_out(directory, requester, stages, eligible, activate):
    first, fallback = directory.user("first"), directory.user("fallback")
    stages("helpdesk-administrator", [dict(approvers=[first], timeout_minutes=60, escalate_on_timeout=True,
                                           fallback_approvers=[fallback])])
    start = timezone.now()
    request = activate(requester, eligible(requester))
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        services.request_expire_overdue()
    with time_machine.travel(start + timedelta(minutes=122), tick=False):
        assert services.request_expire_overdue() == 1
    request.refresh_from_db()
    assert request.status == Request.Status.TIMED_OUT


def test_without_escalation_a_stage_times_out_as_before(directory, requester, stages, eligible, activate):
    first = directory.user("first")
    stages("helpdesk-administrator", [dict(approvers=[first], timeout_minutes=60)])
    start = timezone.now()
    request = activate(requester, eligible(requester))
    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert services.request_expire_overdue() == 1
    request.refresh_from_db()
    assert request.status == Request.Status.TIMED_OUT and not request.stage_escalated
