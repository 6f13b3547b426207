"""A stage's timeout holds to the second for the decision rules, read from committed state with time
predicates as the access check is: until its deadline only the stage's approvers decide; from its
deadline, when it escalates, only its fallback approvers (with the fallback quorum), whether or not the
escalation sweep has run; and the sweep, however late, sets the escalated deadline from the stage's own.
Without escalation a decision after the deadline is refused though the request still says pending."""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals import selectors, services
from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError

pytestmark = pytest.mark.django_db
SECOND = timedelta(seconds=1)


@pytest.fixture
def staged(directory, requester, stages, eligible, activate):
    people = {name: directory.user(name) for name in ("first", "fallback1", "fallback2", "second")}
    stages("helpdesk-administrator", [
        dict(approvers=[people["first"]], timeout_minutes=60, escalate_on_timeout=True,
             fallback_approvers=[people["fallback1"], people["fallback2"]], fallback_approvals_required=2),
        dict(approvers=[people["second"]], timeout_minutes=120)])
    request = activate(requester, eligible(requester))
    return request, people


def test_the_first_approvers_decide_until_the_deadline_and_the_fallback_from_it(staged, approve):
    request, people = staged
    deadline = request.approval_deadline
    with time_machine.travel(deadline - SECOND, tick=False):
        assert selectors.approver_can_decide(user=people["first"], request=request)
        assert not selectors.approver_can_decide(user=people["fallback1"], request=request)
    with time_machine.travel(deadline, tick=False):  # no sweep has run
        assert not selectors.approver_can_decide(user=people["first"], request=request)
        assert selectors.approver_can_decide(user=people["fallback1"], request=request)
        assert request.pk in {r.pk for r in selectors.request_list_pending_for_approver(user=people["fallback1"])}
        with pytest.raises(DomainError) as refused:
            approve(people["first"], request)
        assert refused.value.code == "forbidden" and "fallback approvers" in refused.value.message
        approve(people["fallback1"], request)  # escalates it on the spot, then records the approval
    request.refresh_from_db()
    assert request.stage_escalated and request.approval_stage.position == 1  # the fallback quorum is 2
    assert request.approval_deadline == deadline + timedelta(minutes=60)
    assert AuditEvent.objects.filter(action="request.escalate", correlation_id=request.pk).count() == 1
    with time_machine.travel(deadline + timedelta(minutes=5), tick=False):
        assert services.request_escalate_overdue() == 0  # already escalated by the decision
        approve(people["fallback2"], request)
    request.refresh_from_db()
    assert request.approval_stage.position == 2


def test_the_fallback_is_refused_from_the_escalated_deadline(staged, approve):
    request, people = staged
    deadline = request.approval_deadline
    with time_machine.travel(deadline + timedelta(minutes=60) - SECOND, tick=False):
        assert selectors.approver_can_decide(user=people["fallback1"], request=request)
    with time_machine.travel(deadline + timedelta(minutes=60), tick=False):
        assert not selectors.approver_can_decide(user=people["fallback1"], request=request)
        with pytest.raises(DomainError) as refused:
            approve(people["fallback1"], request)
        assert refused.value.code == "conflict" and "timed out" in refused.value.message
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL and not request.decisions.exists()


def test_a_late_sweep_escalates_in_one_update_with_the_deadline_from_the_stage(
        directory, stages, eligible, activate):
    first, fallback = directory.user("first"), directory.user("fallback")
    stages("helpdesk-administrator", [dict(approvers=[first], timeout_minutes=30, escalate_on_timeout=True,
                                           fallback_approvers=[fallback])])
    askers = [directory.user(f"asker{n}") for n in range(3)]
    requests = [activate(asker, eligible(asker)) for asker in askers]
    latest = max(r.approval_deadline for r in requests)
    with time_machine.travel(latest + timedelta(seconds=59), tick=False), CaptureQueriesContext(connection) as seen:
        assert services.request_escalate_overdue() == 3  # the sweep most of a minute late
    updates = [q["sql"] for q in seen.captured_queries if q["sql"].startswith('UPDATE "approvals_request"')]
    assert len(updates) == 1  # set-based: one UPDATE for the batch
    for request in requests:
        before = request.approval_deadline
        request.refresh_from_db()
        assert request.stage_escalated and request.approval_deadline == before + timedelta(minutes=30)


def test_without_escalation_a_decision_after_the_deadline_is_refused_before_the_sweep(
        directory, requester, stages, eligible, activate, approve):
    first = directory.user("first")
    stages("helpdesk-administrator", [dict(approvers=[first], timeout_minutes=60)])
    request = activate(requester, eligible(requester))
    with time_machine.travel(request.approval_deadline - SECOND, tick=False):
        assert selectors.approver_can_decide(user=first, request=request)
    with time_machine.travel(request.approval_deadline, tick=False):
        with pytest.raises(DomainError) as refused:
            approve(first, request)
        assert refused.value.code == "conflict"
