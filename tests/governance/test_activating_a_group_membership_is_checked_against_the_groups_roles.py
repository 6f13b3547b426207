"""Separation of duties when a PIM group membership is activated: the activation brings the roles the
group holds, so it is refused (refuse set) or flagged (flag set) while the person holds the other role
of the set at an overlapping scope; without a conflicting role it goes through."""

import pytest

from approvals.models import Request
from audit.models import AuditEvent
from core.errors import DomainError


def _arrange(directory, policy, *, other_scope="/subscriptions/pay"):
    user, group = directory.user(), directory.group()
    directory.grant(group, "payments-approver", "/subscriptions/pay", kind="active")
    directory.grant(user, "payments-submitter", other_scope, kind="active")
    membership = directory.add_member(group, user, kind="eligible")  # before the set existed
    policy("group-member", scope=directory.scope(group.group_scope.path))
    return user, membership


def test_refuse_set_refuses_the_membership_activation(directory, conflict_set, policy, activate):
    user, membership = _arrange(directory, policy)
    conflict_set("refuse")
    with pytest.raises(DomainError, match=r"Separation of duties \(Payments\).*through the group") as refused:
        activate(user, membership)
    assert refused.value.code == "conflict"
    assert not Request.objects.filter(eligible_assignment=membership).exists()


def test_flag_set_activates_the_membership_and_flags_it(directory, conflict_set, policy, activate):
    user, membership = _arrange(directory, policy)
    conflict_set("flag")
    assert activate(user, membership).status == Request.Status.PROVISIONED
    [flag] = AuditEvent.objects.filter(action="separation_of_duties.flag")
    assert "Flagged at activation." in flag.message and flag.principal_id == user.principal.pk


def test_no_overlap_no_conflict(directory, conflict_set, policy, activate):
    user, membership = _arrange(directory, policy, other_scope="/subscriptions/other")
    conflict_set("refuse")
    assert activate(user, membership).status == Request.Status.PROVISIONED
