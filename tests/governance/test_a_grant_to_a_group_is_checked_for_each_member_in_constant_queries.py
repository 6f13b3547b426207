"""Separation of duties for a grant to a group: the role comes to each of its active members, so each
member's own roles (and those of their other groups) are checked — a refuse set refuses the grant
naming the member, a flag set flags it per member — in the same number of queries for 2 members as
for 20."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError
from governance.separation import conflicts_for_new_assignment


def _group_with(directory, members: int, conflicting: list):
    group = directory.group()
    for _ in range(members):
        directory.add_member(group, directory.user())
    for user in conflicting:
        directory.add_member(group, user)
    return group


def test_refuse_set_refuses_a_grant_to_a_group_one_of_whose_members_holds_the_other_role(directory, conflict_set):
    bob = directory.user("bob")
    directory.grant(bob, "payments-submitter", "/subscriptions/pay", kind="active")
    group = _group_with(directory, 2, [bob])
    conflict_set("refuse")
    with pytest.raises(DomainError, match=r"Bob would combine Payments approver at /subscriptions/pay/resourceGroups/"
                                          r"rg1 through the group") as refused:
        directory.grant(group, "payments-approver", "/subscriptions/pay/resourceGroups/rg1", kind="eligible")
    assert refused.value.code == "conflict"
    assert not Assignment.objects.filter(principal=group, role__slug="payments-approver").exists()


def test_flag_set_flags_the_grant_for_the_member_concerned(directory, conflict_set):
    bob, carol = directory.user("bob"), directory.user("carol")
    directory.grant(bob, "payments-submitter", "/subscriptions/pay", kind="eligible")
    directory.grant(carol, "payments-submitter", "/subscriptions/other", kind="eligible")  # no overlap
    group = _group_with(directory, 1, [bob, carol])
    conflict_set("flag")
    made = directory.grant(group, "payments-approver", "/subscriptions/pay", kind="eligible")
    assert made.pk
    [flag] = AuditEvent.objects.filter(action="separation_of_duties.flag")
    assert flag.principal_id == bob.principal.pk and "through the group" in flag.message


def test_the_check_costs_the_same_for_2_and_20_members(directory, conflict_set):
    conflict_set("refuse")
    counts = []
    for size in (2, 20):
        users = [directory.user() for _ in range(3)]
        for user in users:
            directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="eligible")
        group = _group_with(directory, size, users)
        role, scope = directory.roles["payments-approver"], directory.scope("/subscriptions/pay")
        with CaptureQueriesContext(connection) as queries:
            found = conflicts_for_new_assignment(principal=group, role=role, scope=scope, at=timezone.now())
        assert {c.principal.pk for c in found} == {u.principal.pk for u in users}
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1], counts
