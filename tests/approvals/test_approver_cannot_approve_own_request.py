import pytest

from approvals import selectors, services
from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError


def test_a_named_approver_cannot_approve_their_own_request(directory, requester, policy, eligible, activate):
    other = directory.user("other")
    policy("helpdesk-administrator", require_approval=True, approvers=[requester, other])
    request = activate(requester, eligible(requester))
    with pytest.raises(DomainError) as error:
        services.request_approve(actor=requester, request=request)
    assert error.value.code == "forbidden" and "your own request" in error.value.message
    assert not selectors.approver_can_decide(user=requester, request=request)
    assert request not in selectors.request_list_pending_for_approver(user=requester)
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL
    assert AuditEvent.objects.filter(action="request.approve", outcome="denied", actor_id=requester.pk).exists()


def test_nor_through_an_approver_group_they_belong_to(directory, requester, policy, eligible, activate):
    approvers = directory.group("Approvers")
    directory.add_member(approvers, requester)
    colleague = directory.user("colleague")
    directory.add_member(approvers, colleague)
    policy("helpdesk-administrator", require_approval=True, approvers=[approvers])
    request = activate(requester, eligible(requester))
    with pytest.raises(DomainError):
        services.request_approve(actor=requester, request=request)
    assert selectors.approver_can_decide(user=colleague, request=request)
    assert services.request_approve(actor=colleague, request=request).status == Request.Status.PROVISIONED


def test_nor_as_a_fallback_administrator(directory, policy, eligible, activate, role_admin):
    policy("helpdesk-administrator", require_approval=True)
    request = activate(role_admin, eligible(role_admin))
    with pytest.raises(DomainError):
        services.request_approve(actor=role_admin, request=request)
