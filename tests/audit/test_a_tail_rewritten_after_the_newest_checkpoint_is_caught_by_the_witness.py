"""Rewriting the events after the newest checkpoint, with recomputed hashes and the chain head moved
along, leaves a database that verifies (no signed checkpoint covers them); the witness wrote the chain
head meanwhile and names the event whose hash no longer matches."""

import pytest

from audit.integrity import audit_chain_verify, iter_event_rows, row_hash
from audit.models import AuditEvent
from audit.services import audit_checkpoint_create, audit_event_record
from audit.tasks import audit_witness
from tests.audit.dba import dba_sql


@pytest.fixture
def witnessed_log(events, witness, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        checkpoint = audit_checkpoint_create()
    for n in range(4):
        audit_event_record(action="test.after_checkpoint", justification=f"reason {n}")
    audit_witness()  # the beat job: the head, four events after the checkpoint
    return checkpoint


def test_a_rewritten_tail_is_caught(witnessed_log, witness, settings):
    first = witnessed_log.last_seq + 2  # after the checkpoint and its own event
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    dba_sql("UPDATE audit_auditevent SET justification = 'nothing to see' WHERE seq = %s", [first])
    prev_hash = AuditEvent.objects.get(seq=first - 1).hash
    for seq, data, _, _ in list(iter_event_rows(after_seq=first - 1)):
        new_hash = row_hash(data, prev_hash)
        dba_sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [prev_hash, new_hash, seq])
        prev_hash = new_hash
    dba_sql("UPDATE audit_auditchainhead SET last_hash = %s", [prev_hash])

    settings.PIM_AUDIT_WITNESS = ""
    assert audit_chain_verify().ok, "the database alone cannot tell"

    result = audit_chain_verify(witness=witness.as_uri())
    assert not result.ok and result.bad_seq == head, result.summary()
    assert "hash differs from the witness" in result.reason
    assert result.summary().startswith(f"TAMPERED: first bad event #{head}: hash differs from the witness")
