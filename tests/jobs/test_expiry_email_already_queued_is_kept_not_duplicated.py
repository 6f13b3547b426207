"""The sweep streams its emails straight into the outbox. If one of them was queued already (a
task run twice, a crash between the email and the commit of an earlier attempt), the sweep still
expires the batch: the rows already there are kept and each recipient has the notice once."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import sweeps
from assignments.models import Assignment
from notifications.email import email_dedupe_key
from notifications.models import OutboxMessage


def test_a_notice_queued_before_the_sweep_is_kept_once(directory, outbox):
    start = timezone.now()
    people = [directory.user(f"holder{i}") for i in range(3)]
    due = [directory.grant(p, "helpdesk-administrator", kind="eligible", end=start + timedelta(hours=1))
           for p in people]
    first = due[0]
    OutboxMessage.objects.create(
        channel="email", dedupe_key=email_dedupe_key(f"expired:{first.pk}", "holder0@example.com"),
        payload={"to": "holder0@example.com", "template": "email/expired", "context": {"assignment_id": first.pk}},
        available_at=start, created_at=start)

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert sweeps.assignments_expire().processed == 3

    assert Assignment.objects.filter(pk__in=[a.pk for a in due], status=Assignment.Status.ENDED).count() == 3
    expired = outbox.rows("email/expired")
    assert sorted(m.payload["to"] for m in expired) == [f"holder{i}@example.com" for i in range(3)]
    assert [m.payload["context"] for m in expired if m.payload["to"] == "holder0@example.com"] == [
        {"assignment_id": first.pk}]  # the row that was there first is the one kept
