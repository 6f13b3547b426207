"""The expiry sweep hands its events to subscribers as a set (`domain_events.emit_many`). A
subscriber that only knows single events still hears of every expired assignment, once, as a model
read in the sweep's transaction, with its principal, role and scope."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import sweeps
from assignments.models import Assignment
from core import domain_events


def test_a_subscriber_without_a_batch_handler_gets_one_event_per_expired_assignment(directory):
    start = timezone.now()
    due = [directory.grant(directory.user(f"holder{i}"), "helpdesk-administrator", kind="eligible",
                           end=start + timedelta(hours=1)) for i in range(5)]
    heard = []

    def listener(*, name, **payload):
        if name == "assignment.expired":
            assignment = payload["assignment"]
            heard.append((assignment.pk, assignment.status, assignment.end_reason, str(assignment.principal),
                          assignment.role.slug, assignment.scope.path))

    domain_events.subscribe(listener)
    try:
        with time_machine.travel(start + timedelta(hours=2), tick=False):
            assert sweeps.assignments_expire(batch_size=2).processed == 5
    finally:
        domain_events._subscribers.remove(listener)

    assert sorted(heard) == sorted(
        (a.pk, Assignment.Status.ENDED, Assignment.EndReason.EXPIRED, str(a.principal), "helpdesk-administrator", "/")
        for a in due
    )
