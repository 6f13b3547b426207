"""Eligible privileged assignments with no activation in 30 days (default) fire; an activation clears them."""

from datetime import timedelta

import time_machine
from django.utils import timezone

KEY = "admins_not_using_roles"


def test_unused_eligibility_fires_and_an_activation_clears(directory, evaluate, open_incidents, activate):
    user = directory.user("eve")
    eligible = directory.grant(user, "helpdesk-administrator", kind="eligible")
    assert evaluate(KEY).findings == 0  # just assigned
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert evaluate(KEY).opened == 1
        [incident] = open_incidents(KEY)
        assert incident.affected[0]["assignment_id"] == eligible.pk and incident.severity == "low"
        activate(eligible)
        assert evaluate(KEY).cleared == 1
    assert open_incidents(KEY) == []


def test_removing_the_eligibility_from_the_incident_clears_it(directory, role_admin, evaluate, open_incidents):
    from alerts.services import incident_fix_remove_assignment
    from audit.models import AuditEvent

    eligible = directory.grant(directory.user("eve"), "helpdesk-administrator", kind="eligible")
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        evaluate(KEY)
        [incident] = open_incidents(KEY)
        incident_fix_remove_assignment(actor=role_admin, incident=incident, assignment_id=eligible.pk,
                                       justification="unused")
    eligible.refresh_from_db()
    assert eligible.status == "ended" and eligible.end_reason == "removed"
    assert AuditEvent.objects.filter(action="assignment.remove", actor_id=role_admin.pk,
                                     target_id=str(eligible.pk)).exists()
    assert open_incidents(KEY) == []
