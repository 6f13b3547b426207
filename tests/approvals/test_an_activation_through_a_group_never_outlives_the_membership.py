"""An activation made through a group's eligibility is cut at the end of the requester's membership
of the group, as it is at the end of the eligibility; an extension cannot take it past the membership
either. (Before, a membership ending in 30 minutes gave an 8-hour activation that outlived it, and the
access check granted the role after the membership had ended.)"""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services
from assignments.access import access_find_grant
from core.errors import DomainError


def test_the_activation_ends_when_the_membership_ends(directory, requester, policy, activate):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership_end = timezone.now() + timedelta(minutes=30)
    directory.add_member(group, requester, end=membership_end)
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")

    request = activate(requester, eligibility, duration_minutes=240)

    assert request.assignment.end_at == membership_end
    assert "group membership" in request.status_message
    with time_machine.travel(membership_end + timedelta(seconds=1)):
        assert access_find_grant(principal=requester.principal, role=eligibility.role, scope=directory.root) is None


def test_an_extension_stops_at_the_membership_end(directory, requester, role_admin, policy, activate):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership_end = timezone.now() + timedelta(hours=3)
    directory.add_member(group, requester, end=membership_end)
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    activation = activate(requester, eligibility, duration_minutes=60).assignment

    extended = services.assignment_extend(actor=role_admin, assignment=activation,
                                          end_at=timezone.now() + timedelta(hours=6),
                                          mfa_verified_at=timezone.now())
    assert extended.end_at == membership_end
    with pytest.raises(DomainError, match="membership of the group"):
        services.assignment_extend(actor=role_admin, assignment=extended, end_at=membership_end + timedelta(hours=1),
                                   mfa_verified_at=timezone.now())


def test_shortening_the_membership_cuts_the_activation_made_through_it(directory, requester, role_admin, policy,
                                                                       activate):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership = directory.add_member(group, requester, end=timezone.now() + timedelta(days=2))
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    activation = activate(requester, eligibility, duration_minutes=240).assignment
    new_end = timezone.now() + timedelta(minutes=45)

    services.assignment_update(actor=role_admin, assignment=membership, start_at=membership.start_at, end_at=new_end,
                               mfa_verified_at=timezone.now())

    activation.refresh_from_db()
    assert activation.end_at == new_end
