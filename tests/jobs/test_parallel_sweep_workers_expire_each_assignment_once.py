"""On PostgreSQL the expiry sweep runs its batches in several worker threads, each on its own
connection. Together they expire every due assignment exactly once, with one audit event and one
email each, and the audit chain stays unbroken."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import sweeps
from assignments.models import Assignment
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from notifications.models import OutboxMessage

COUNT = 45


@pytest.mark.django_db(transaction=True)
def test_three_workers_share_the_due_rows_and_keep_the_chain(postgres, directory):
    start = timezone.now()
    due = [directory.grant(directory.user(f"holder{i}"), "helpdesk-administrator", kind="eligible",
                           end=start + timedelta(hours=1)).pk for i in range(COUNT)]
    lasting = directory.grant(directory.user("lasting"), "helpdesk-administrator", kind="eligible",
                              end=start + timedelta(days=3))

    with time_machine.travel(start + timedelta(hours=2), tick=True):
        result = sweeps.assignments_expire(batch_size=4, workers=3)

    assert result.processed == COUNT and result.batches >= COUNT // 4
    assert set(Assignment.objects.filter(status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.EXPIRED)
               .values_list("pk", flat=True)) == set(due)
    lasting.refresh_from_db()
    assert lasting.status == Assignment.Status.LIVE
    events = sorted(int(pk) for pk in AuditEvent.objects.filter(action="assignment.expire")
                    .values_list("target_id", flat=True))
    assert events == sorted(due)
    emails = sorted(OutboxMessage.objects.filter(channel="email", payload__template="email/expired")
                    .values_list("payload__context__assignment_id", flat=True))
    assert emails == sorted(due)
    verified = audit_chain_verify()
    assert verified.ok, verified.summary()
