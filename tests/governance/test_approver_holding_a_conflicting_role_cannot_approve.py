"""Separation of duties when approving: an approver who holds or is eligible for a role of a refuse
set conflicting with the requested one, at an overlapping scope, cannot approve; in a flag set the
approval goes through and the flag is audited."""

import pytest

from approvals.models import Request
from approvals.services import request_approve
from audit.models import AuditEvent
from core.errors import DomainError


def _pending(directory, policy, activate, approvers):
    requester = directory.user("requester")
    eligible = directory.grant(requester, "payments-approver", "/subscriptions/pay", kind="eligible")
    policy("payments-approver", require_approval=True, approvers=approvers)
    return activate(requester, eligible)


def test_an_approver_eligible_for_the_conflicting_role_cannot_approve(directory, conflict_set, policy, activate):
    conflict_set("refuse")
    tainted, clean = directory.user("tainted"), directory.user("clean")
    directory.grant(tainted, "payments-submitter", "/subscriptions/pay/resourceGroups/rg1", kind="eligible")
    request = _pending(directory, policy, activate, [tainted, clean])
    with pytest.raises(DomainError, match="the approver Tainted") as refused:
        request_approve(actor=tainted, request=request)
    assert refused.value.code == "conflict"
    assert not request.decisions.exists()
    assert request_approve(actor=clean, request=request).status == Request.Status.PROVISIONED


def test_in_a_flag_set_the_approval_is_recorded_and_flagged(directory, conflict_set, policy, activate):
    conflict_set("flag")
    tainted = directory.user("tainted")
    directory.grant(tainted, "payments-submitter", "/subscriptions/pay", kind="active")
    request = _pending(directory, policy, activate, [tainted])
    assert request_approve(actor=tainted, request=request).status == Request.Status.PROVISIONED
    assert AuditEvent.objects.filter(action="separation_of_duties.flag", message__contains="approval",
                                     correlation_id=request.pk).exists()
