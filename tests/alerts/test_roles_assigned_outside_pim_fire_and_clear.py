"""Roles assigned outside PIM within the last 30 days: one high-severity incident per assignment."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

KEY = "roles_assigned_outside_pim"


def _outside(directory, user, slug="helpdesk-administrator"):
    from assignments.services import assignment_record_outside_pim

    assignment = directory.grant(user, slug)
    return assignment_record_outside_pim(actor=SETUP, assignment=assignment, before=None)


def test_an_outside_assignment_fires_and_clears_when_removed(directory, role_admin, evaluate, open_incidents):
    assignment = _outside(directory, directory.user("eve"))
    result = evaluate(KEY)
    assert result.opened == 1
    [incident] = open_incidents(KEY)
    assert incident.severity == "high"
    assert incident.subject_key == "alert"  # the alert's one incident
    assert [item["subject_key"] for item in incident.items] == [f"assignment:{assignment.pk}"]
    assert incident.affected[0]["assignment_id"] == assignment.pk

    from alerts.services import incident_fix_remove_assignment

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        incident_fix_remove_assignment(actor=role_admin, incident=incident, assignment_id=assignment.pk,
                                       justification="not requested through PIM")
        assert evaluate(KEY).findings == 0
    assert open_incidents(KEY) == []


def test_older_than_the_look_back_window_clears(directory, evaluate, open_incidents):
    _outside(directory, directory.user("eve"))
    assert evaluate(KEY).opened == 1
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert evaluate(KEY).cleared == 1
    assert open_incidents(KEY) == []


def test_assignments_made_through_pim_do_not_fire(directory, evaluate):
    directory.grant(directory.user("eve"), "helpdesk-administrator")
    assert evaluate(KEY).findings == 0
