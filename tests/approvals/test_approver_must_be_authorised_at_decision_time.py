import pytest

from approvals import selectors, services
from approvals.models import Request
from assignments import services as assignment_services
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_an_approver_removed_from_the_approver_group_can_no_longer_decide(
        directory, requester, policy, eligible, activate):
    approvers = directory.group("Approvers")
    member = directory.user("member")
    membership = directory.add_member(approvers, member)
    policy("helpdesk-administrator", require_approval=True, approvers=[approvers])
    request = activate(requester, eligible(requester))
    assert selectors.approver_can_decide(user=member, request=request)

    assignment_services.assignment_end(assignment=membership, reason="removed", now=membership.start_at,
                                       actor=SETUP)
    assert not selectors.approver_can_decide(user=member, request=request)
    with pytest.raises(DomainError) as error:
        services.request_approve(actor=member, request=request)
    assert error.value.code == "forbidden"
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL


def test_a_stranger_cannot_decide(directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    request = activate(requester, eligible(requester))
    stranger = directory.user("stranger")
    with pytest.raises(DomainError):
        services.request_deny(actor=stranger, request=request, comment="no")
    assert selectors.request_list_pending_for_approver(user=stranger) == []
