"""Separation of duties at assignment creation: a refuse set refuses the second role at an overlapping
scope (also through a group membership that brings it), a flag set lets it through with an audit event,
and scopes that do not overlap never conflict."""

import pytest

from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError


def test_refuse_set_refuses_the_second_role_at_an_overlapping_scope(directory, conflict_set):
    conflict_set("refuse")
    user = directory.user()
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="eligible")
    with pytest.raises(DomainError, match="Separation of duties .Payments.") as refused:
        directory.grant(user, "payments-approver", "/subscriptions/pay/resourceGroups/rg1", kind="eligible")
    assert refused.value.code == "conflict"
    assert not Assignment.objects.filter(principal=user.principal, role__slug="payments-approver").exists()
    # A sibling subscription does not overlap: allowed.
    directory.grant(user, "payments-approver", "/subscriptions/other", kind="eligible")


def test_a_group_membership_bringing_the_conflicting_role_is_refused(directory, conflict_set):
    conflict_set("refuse")
    user, group = directory.user(), directory.group()
    directory.grant(group, "payments-approver", "/subscriptions/pay", kind="eligible")
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="active")
    with pytest.raises(DomainError, match="Separation of duties"):
        directory.add_member(group, user)


def test_flag_set_allows_the_assignment_and_audits_the_flag(directory, conflict_set):
    flagged = conflict_set("flag")
    user = directory.user()
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="eligible")
    made = directory.grant(user, "payments-approver", "/subscriptions/pay", kind="eligible")
    assert made.pk
    event = AuditEvent.objects.get(action="separation_of_duties.flag")
    assert event.target_id == str(flagged.pk) and "assignment" in event.message


def test_a_disabled_set_checks_nothing(directory, conflict_set):
    made = conflict_set("refuse")
    made.enabled = False
    made.save()
    user = directory.user()
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="eligible")
    directory.grant(user, "payments-approver", "/subscriptions/pay", kind="eligible")
