"""Too many owners (≥ 3) and too many permanent owners (≥ 2) on one resource, per scope."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_owners_per_resource_fire_and_clear(directory, evaluate, open_incidents):
    sub = directory.scope("/subscriptions/s1")
    other = directory.scope("/subscriptions/s2")
    owners = [directory.grant(directory.user(f"o{i}"), "owner", sub, kind="eligible") for i in range(2)]
    directory.grant(directory.user("x"), "owner", other, kind="eligible")
    assert evaluate("too_many_owners").findings == 0
    owners.append(directory.grant(directory.user("o3"), "owner", sub, kind="eligible"))
    assert evaluate("too_many_owners").opened == 1
    [incident] = open_incidents("too_many_owners")
    assert incident.scope == sub and len(incident.affected) == 3 and incident.severity == "medium"

    from assignments.services import assignment_remove

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_remove(actor=SETUP, assignment=owners[0])
        assert evaluate("too_many_owners").cleared == 1


def test_permanent_owners_fire_and_converting_one_to_eligible_clears(directory, evaluate, open_incidents):
    from alerts.services import incident_fix_make_eligible

    sub = directory.scope("/subscriptions/s1")
    admin = directory.user("subadmin")
    directory.grant(admin, "user-access-administrator", sub)
    first = directory.grant(directory.user("o1"), "owner", sub)
    directory.grant(directory.user("o2"), "owner", sub, end=timezone.now() + timedelta(days=30))  # time-bound
    assert evaluate("too_many_permanent_owners").findings == 0
    directory.grant(directory.user("o3"), "owner", sub)
    assert evaluate("too_many_permanent_owners").opened == 1
    [incident] = open_incidents("too_many_permanent_owners")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        eligible = incident_fix_make_eligible(actor=admin, incident=incident, assignment_id=first.pk,
                                              justification="standing access not needed")
    assert eligible.kind == "eligible" and eligible.principal == first.principal
    assert open_incidents("too_many_permanent_owners") == []
