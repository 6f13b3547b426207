import pytest

from approvals import services
from approvals.models import Request
from core.errors import DomainError


def test_only_the_requester_cancels_and_only_while_pending(directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    eligibility = eligible(requester)
    request = activate(requester, eligibility)
    with pytest.raises(DomainError) as error:
        services.request_cancel(actor=approver, request=request)
    assert error.value.code == "forbidden"
    assert services.request_cancel(actor=requester, request=request).status == Request.Status.CANCELED
    with pytest.raises(DomainError) as twice:
        services.request_cancel(actor=requester, request=request)
    assert twice.value.code == "conflict"
    # A new request can be made once the old one is closed.
    assert activate(requester, eligibility).status == Request.Status.PENDING_APPROVAL


def test_a_second_pending_activation_of_the_same_eligibility_is_a_conflict(
        directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    eligibility = eligible(requester)
    activate(requester, eligibility)
    with pytest.raises(DomainError) as error:
        activate(requester, eligibility)
    assert error.value.code == "conflict" and "waiting for approval" in error.value.message
