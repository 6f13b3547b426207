"""Two expiry sweeps running at once (two beats, two workers) on PostgreSQL: every due assignment is
expired by exactly one of them, with one audit event and one email."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from assignments import sweeps
from assignments.models import Assignment
from audit.models import AuditEvent
from notifications.models import OutboxMessage

COUNT = 60


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_expire_each_assignment_once(postgres, directory):
    start = timezone.now()
    role = directory.role("helpdesk-administrator")
    due = []
    for i in range(COUNT):
        user = directory.user(f"holder{i}")
        due.append(directory.grant(user, role.slug, kind="eligible", end=start + timedelta(hours=1)).pk)

    results, errors = [], []
    barrier = threading.Barrier(2)

    def sweep():
        try:
            barrier.wait(timeout=10)
            results.append(sweeps.assignments_expire(batch_size=7).processed)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connection.close()

    with time_machine.travel(start + timedelta(hours=2), tick=True):
        threads = [threading.Thread(target=sweep) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

    assert not errors, errors
    assert sum(results) == COUNT  # no row was processed by both
    assert Assignment.objects.filter(pk__in=due, status=Assignment.Status.ENDED,
                                     end_reason=Assignment.EndReason.EXPIRED).count() == COUNT
    events = list(AuditEvent.objects.filter(action="assignment.expire").values_list("target_id", flat=True))
    assert sorted(map(int, events)) == sorted(due)
    emails = list(OutboxMessage.objects.filter(channel="email", payload__template="email/expired")
                  .values_list("payload__context__assignment_id", flat=True))
    assert sorted(emails) == sorted(due)
