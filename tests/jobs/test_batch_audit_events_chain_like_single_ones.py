"""The expiry sweep appends its audit events in bulk (`audit_events_record_many`): one event per
assignment, chained and hashed exactly like events written one by one, so the chain verifies."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import sweeps
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from audit.services import audit_event_record, audit_events_record_many


def test_bulk_appended_events_interleave_with_single_ones_and_the_chain_verifies(directory, requester):
    start = timezone.now()
    for i in range(4):
        directory.grant(directory.user(f"holder{i}"), "helpdesk-administrator", kind="eligible",
                        end=start + timedelta(hours=1))
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert sweeps.assignments_expire(batch_size=3).processed == 4
    audit_event_record(action="test.single", message="after the sweep")
    audit_events_record_many([{"action": "test.bulk", "message": "ünïcode", "before": {"at": start}},
                              {"action": "test.bulk", "target": requester, "principal": requester.principal}])
    audit_event_record(action="test.single", message="after the bulk")

    result = audit_chain_verify()
    assert result.ok, result.summary()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    expired = AuditEvent.objects.filter(action="assignment.expire")
    assert expired.count() == 4 and {e.principal_label for e in expired} == {f"Holder{i}" for i in range(4)}
