import pytest

from approvals import services
from approvals.models import Request
from assignments.models import Assignment
from core.errors import DomainError


def test_deny_without_reason_is_refused_and_with_reason_ends_it(directory, requester, policy, eligible, activate):
    a1, a2 = directory.user("a1"), directory.user("a2")
    policy("helpdesk-administrator", require_approval=True, approvals_required=2, approvers=[a1, a2])
    request = activate(requester, eligible(requester))
    services.request_approve(actor=a1, request=request)
    with pytest.raises(DomainError) as error:
        services.request_deny(actor=a2, request=request, comment="  ")
    assert error.value.field == "comment"
    denied = services.request_deny(actor=a2, request=request, comment="not during the freeze")
    assert denied.status == Request.Status.DENIED
    assert "not during the freeze" in denied.status_message
    assert not Assignment.objects.filter(principal=requester.principal, kind="active").exists()
    with pytest.raises(DomainError) as closed:
        services.request_approve(actor=a1, request=request)
    assert closed.value.code == "conflict"
