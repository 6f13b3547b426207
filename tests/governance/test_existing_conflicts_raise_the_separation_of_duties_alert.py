"""Existing conflicts (made before the set, through a group, or let through by a flag set) raise the
separation-of-duties alert, listing the assignments involved; the remove fix or an exception clears it."""

from datetime import timedelta

from django.utils import timezone

from alerts.models import Incident
from alerts.services import alert_evaluate, incident_fix_remove_assignment
from core.actors import Actor
from governance.services import conflict_exception_grant

JOB = Actor.system("alerts-evaluate")


def _current():
    return Incident.objects.filter(alert_key="separation_of_duties", is_current=True,
                                   status=Incident.Status.OPEN).first()


def test_existing_conflicts_open_an_incident_that_clears(directory, conflict_set, global_admin, later):
    alice, bob, carol = directory.user("alice"), directory.user("bob"), directory.user("carol")
    group = directory.group()
    directory.grant(alice, "payments-submitter", "/subscriptions/pay", kind="eligible")
    directory.grant(alice, "payments-approver", "/subscriptions/pay/resourceGroups/rg1", kind="active")
    directory.grant(group, "payments-approver", "/subscriptions/pay", kind="eligible")
    directory.grant(bob, "payments-submitter", "/subscriptions/pay", kind="active")
    directory.add_member(group, bob)
    directory.grant(carol, "payments-submitter", "/subscriptions/pay", kind="eligible")
    directory.grant(carol, "payments-approver", "/subscriptions/other", kind="eligible")  # no overlap
    made = conflict_set("refuse")
    alert_evaluate(key="separation_of_duties", actor=JOB)
    incident = _current()
    assert incident is not None
    assert {item["subject_key"] for item in incident.items} == {
        f"set:{made.pk}:principal:{alice.principal.pk}", f"set:{made.pk}:principal:{bob.principal.pk}"}

    conflict_exception_grant(actor=global_admin, conflict_set=made, principal=bob.principal, justification="audit",
                             end_at=timezone.now() + timedelta(days=2), mfa_verified_at=timezone.now())
    alert_evaluate(key="separation_of_duties", actor=JOB)
    incident = _current()
    assert [item["subject_key"] for item in incident.items] == [f"set:{made.pk}:principal:{alice.principal.pk}"]

    active = next(a for a in incident.affected if a["kind"] == "active")
    from time_machine import travel

    directory.grant(global_admin, "owner", "/subscriptions/pay")  # resource roles are managed by Owners
    with travel(later(minutes=10)):  # past the five minutes an assignment must stand
        incident_fix_remove_assignment(actor=global_admin, incident=incident, assignment_id=active["assignment_id"],
                                       justification="submitters do not approve")
        assert _current() is None
