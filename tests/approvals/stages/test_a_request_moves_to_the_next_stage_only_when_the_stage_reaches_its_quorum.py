"""Ordered stages, each with its quorum (N of M): stage k+1 opens only when stage k has its approvals;
stage 2's approvers cannot decide while stage 1 waits; the last stage's quorum provisions the request."""

import pytest

from approvals import selectors
from approvals.models import ApprovalDecision, Request
from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError

pytestmark = pytest.mark.django_db


def test_two_of_three_then_one_of_one(directory, requester, stages, eligible, activate, approve):
    first = [directory.user(f"first{i}") for i in range(3)]
    second = directory.user("second")
    stages("helpdesk-administrator", [dict(approvers=first, approvals_required=2),
                                      dict(approvers=[second], approvals_required=1, name="Security")])
    request = activate(requester, eligible(requester))
    assert request.status == Request.Status.PENDING_APPROVAL
    assert request.approval_stage.position == 1 and request.approvals_required == 2

    # Stage 2's approver is not asked yet: neither the queue nor a direct decision lets them in.
    assert not selectors.approver_can_decide(user=second, request=request)
    with pytest.raises(DomainError) as refused:
        approve(second, request)
    assert refused.value.code == "forbidden"

    approve(first[0], request)
    request.refresh_from_db()
    assert request.approval_stage.position == 1, "one approval of two does not advance"

    approve(first[1], request)
    request.refresh_from_db()
    assert request.approval_stage.position == 2 and request.status == Request.Status.PENDING_APPROVAL
    assert request.approvals_required == 1
    # The third approver of stage 1 has nothing left to decide there.
    assert not selectors.approver_can_decide(user=first[2], request=request)
    assert [r.pk for r in selectors.request_list_pending_for_approver(user=second)] == [request.pk]
    assert AuditEvent.objects.filter(action="request.stage_advance", correlation_id=request.pk).count() == 1

    approve(second, request)
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED
    assert Assignment.objects.filter(principal=requester.principal, kind="active", status="live").count() == 1
    positions = list(ApprovalDecision.objects.filter(request=request).order_by("decided_at", "pk")
                     .values_list("approver__username", "stage_position"))
    assert positions == [("first0", 1), ("first1", 1), ("second", 2)]


def test_one_person_decides_a_request_once_whatever_its_stages(directory, requester, stages, eligible, activate,
                                                               approve):
    both = directory.user("both")
    other = directory.user("other")
    stages("helpdesk-administrator", [dict(approvers=[both]), dict(approvers=[both, other])])
    request = activate(requester, eligible(requester))
    approve(both, request)
    request.refresh_from_db()
    assert request.approval_stage.position == 2
    with pytest.raises(DomainError) as refused:
        approve(both, request)
    assert refused.value.code == "conflict"
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL
    approve(other, request)
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED


def test_group_members_approve_their_stage_but_not_their_own_request(directory, requester, stages, eligible,
                                                                     activate, approve):
    team = directory.group("Approvers team")
    member = directory.user("member")
    directory.add_member(team, member)
    directory.add_member(team, requester)
    stages("helpdesk-administrator", [dict(approvers=[team])])
    request = activate(requester, eligible(requester))
    with pytest.raises(DomainError):
        approve(requester, request)
    approve(member, request)
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED
