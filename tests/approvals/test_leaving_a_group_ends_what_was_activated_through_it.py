"""A member who leaves a group keeps nothing they activated from the group's eligibilities: the
activation ends with the membership, audited, and consumers hear of it as a removal."""

from datetime import timedelta

from django.utils import timezone

from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent


def test_removing_the_membership_ends_the_activation_through_the_group(directory, requester, role_admin, policy,
                                                                        activate):
    policy("helpdesk-administrator")
    group = directory.group("Helpdesk", role_assignable=True)
    membership = directory.add_member(group, requester)
    eligibility = directory.grant(group, "helpdesk-administrator", kind="eligible")
    request = activate(requester, eligibility)
    activation = request.assignment
    assert activation.status == Assignment.Status.LIVE
    Assignment.objects.filter(pk=membership.pk).update(created_at=timezone.now() - timedelta(minutes=10))
    membership.refresh_from_db()

    services.assignment_remove(actor=role_admin, assignment=membership, justification="leaver")

    activation.refresh_from_db()
    assert activation.status == Assignment.Status.ENDED
    assert activation.end_reason == Assignment.EndReason.MEMBERSHIP_ENDED
    assert AuditEvent.objects.filter(action="assignment.end", target_id=str(activation.pk)).exists()
    assert access_find_grant(principal=requester.principal, role=eligibility.role, scope=directory.root) is None
    # The group's eligibility itself is untouched: other members may still activate it.
    eligibility.refresh_from_db()
    assert eligibility.status == Assignment.Status.LIVE
