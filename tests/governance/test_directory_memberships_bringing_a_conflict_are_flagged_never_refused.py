"""Separation of duties for memberships the directory sends (SCIM, LDAP, sign-in claims): a membership
that puts a person into a group holding a role conflicting with their own is never refused, even by a
refuse set; it is flagged (audited in the sync's transaction) and the existing-conflicts alert lists
it. One membership at a time and in bulk."""

import pytest

from alerts.models import Incident
from alerts.services import alert_evaluate
from assignments.intake import memberships_directory_add_many
from assignments.models import Assignment
from assignments.services import membership_directory_add
from audit.models import AuditEvent
from core.actors import Actor

SYNC = Actor.system("directory-sync")


def _arrange(directory, conflict_set):
    bob, carol, group = directory.user("bob"), directory.user("carol"), directory.group()
    directory.grant(group, "payments-approver", "/subscriptions/pay", kind="eligible")
    directory.grant(bob, "payments-submitter", "/subscriptions/pay/resourceGroups/rg1", kind="active")
    made = conflict_set("refuse")
    return bob, carol, group, made


@pytest.mark.parametrize("how", ["one", "bulk"])
def test_the_membership_is_added_flagged_and_alerted(directory, conflict_set, how):
    bob, carol, group, made = _arrange(directory, conflict_set)
    if how == "one":
        membership_directory_add(group=group, member=bob.principal, actor=SYNC)
        membership_directory_add(group=group, member=carol.principal, actor=SYNC)
    else:
        memberships_directory_add_many(pairs=[(group.pk, bob.principal.pk), (group.pk, carol.principal.pk)],
                                       actor=SYNC)
    assert Assignment.objects.filter(scope__group=group, origin=Assignment.Origin.DIRECTORY, status="live").count() == 2
    alert_evaluate(key="separation_of_duties", actor=Actor.system("alerts-evaluate"))
    # (The bulk's events are appended when its transaction ends: here, by the next one.)
    [flag] = AuditEvent.objects.filter(action="separation_of_duties.flag")
    assert flag.principal_id == bob.principal.pk and "Flagged at directory membership." in flag.message
    incident = Incident.objects.get(alert_key="separation_of_duties", is_current=True)
    assert {item["subject_key"] for item in incident.items} == {f"set:{made.pk}:principal:{bob.principal.pk}"}
