"""Verify checks the log as of its start; the witness may already hold the head of events appended
since. Those are compared with what the log holds now, not reported missing."""

from audit.integrity import audit_chain_verify
from audit.services import audit_event_record
from audit.tasks import audit_witness
from audit.witness import audit_witness_check


def test_a_witness_ahead_of_the_snapshot_agrees(events, witness, settings):
    settings.PIM_AUDIT_WITNESS = ""
    snapshot = audit_chain_verify()  # the database part, before the writers below
    settings.PIM_AUDIT_WITNESS = witness.as_uri()
    head = audit_event_record(action="test.appended_meanwhile").seq
    audit_witness()
    result = audit_witness_check(result=snapshot, source=str(witness))
    assert result.ok, result.summary()
    assert result.last_seq == head - 1 and f"witness agrees: 1 record up to #{head}" in result.summary()
