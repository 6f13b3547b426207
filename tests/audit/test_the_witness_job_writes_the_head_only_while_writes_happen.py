"""The beat job `audit-witness` (every PIM_AUDIT_WITNESS_EVERY_SECONDS) writes the chain head when the
chain moved since its last record, and nothing while the log is idle; a checkpoint is written once."""

from audit.models import AuditWitnessState
from audit.services import audit_event_record
from audit.tasks import audit_witness


def test_head_written_when_moved_and_not_when_idle(events, witness_records, django_capture_on_commit_callbacks):
    head = audit_event_record(action="test.moved").seq
    assert audit_witness() == 1
    [record] = witness_records()
    assert (record["kind"], record["seq"]) == ("head", head)
    assert audit_witness() == 0, "idle: nothing to write"

    audit_event_record(action="test.moved_again")
    assert audit_witness() == 1
    assert witness_records()[-1]["seq"] == head + 1
    state = AuditWitnessState.objects.get(pk=1)
    assert state.last_seq == head + 1 and state.witnessed_at is not None and state.last_error == ""
