"""An activation through a group's eligibility and an administrator's removal of the requester's
membership of that group, at the same time.

The activation is held at the moment its request row is inserted (another connection holds an
uncommitted open request for the same eligibility, so the insert waits on the unique index) while
the removal of the membership runs. Whatever the order, no live activation of the group's
eligibility may remain for the former member, and the access check must not grant the role.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from assignments.access import access_find_grant
from assignments.models import Assignment
from tests.approvals.activation_race import race_activation_against_removal


@pytest.mark.django_db(transaction=True)
def test_activation_racing_removal_of_the_membership_leaves_no_live_activation(postgres, directory, requester,
                                                                              role_admin, policy):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership = directory.add_member(group, requester)
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    # Old enough to be removed (the 5-minute rule is not what this test is about).
    Assignment.objects.filter(pk=membership.pk).update(created_at=timezone.now() - timedelta(minutes=10),
                                                       start_at=timezone.now() - timedelta(minutes=10))
    membership.refresh_from_db()

    outcomes = race_activation_against_removal(requester=requester, eligibility=eligibility,
                                               removed=membership, role_admin=role_admin)

    assert outcomes["removal"] == "done"
    membership.refresh_from_db()
    assert membership.status == Assignment.Status.ENDED
    assert not Assignment.objects.filter(activated_from=eligibility, principal=requester.principal,
                                         status=Assignment.Status.LIVE).exists()
    assert access_find_grant(principal=requester.principal, role=eligibility.role, scope=directory.root) is None
