"""Cutting the log back to an older checkpoint (delete the newer events and the newer checkpoints, move
the chain head back) leaves a database that verifies; the witness saw the newer checkpoints and names
the first missing event. Without `--witness`, verify reads the configured file sink."""

import io

import pytest
from django.core.management import call_command

from audit.integrity import audit_chain_verify
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import audit_event_record
from audit.tasks import audit_checkpoint
from tests.audit.dba import dba_sql


@pytest.fixture
def witnessed_log(events, witness, django_capture_on_commit_callbacks):
    """The checkpoint job signs checkpoint A, five events, checkpoint B, three events; each checkpoint
    goes to the witness when it commits."""
    with django_capture_on_commit_callbacks(execute=True):
        older = AuditCheckpoint.objects.get(pk=audit_checkpoint())
    for n in range(5):
        audit_event_record(action="test.between", message=str(n))
    with django_capture_on_commit_callbacks(execute=True):
        audit_checkpoint()
    for n in range(3):
        audit_event_record(action="test.after", message=str(n))
    return older


def test_a_cut_back_is_caught(witnessed_log, witness, settings):
    keep = witnessed_log.last_seq + 1  # the older checkpoint's own "audit.checkpoint" event
    keep_hash = AuditEvent.objects.get(seq=keep).hash
    dba_sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    dba_sql("DELETE FROM audit_auditcheckpoint WHERE id > %s", [witnessed_log.pk])
    dba_sql("UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s", [keep, keep_hash])
    assert AuditCheckpoint.objects.count() == 1

    settings.PIM_AUDIT_WITNESS = ""
    assert audit_chain_verify().ok, "the database alone cannot tell"
    settings.PIM_AUDIT_WITNESS = witness.as_uri()

    result = audit_chain_verify()
    assert not result.ok and result.bad_seq == keep + 1, result.summary()
    assert f"the log ends at #{keep} but the witness saw" in result.reason
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_verify", stdout=out)
    assert exit_.value.code == 1
    assert f"first bad event #{keep + 1}: missing" in out.getvalue()


def test_a_cut_back_is_caught_after_new_events_took_the_deleted_numbers(witnessed_log, witness):
    """The portal keeps appending after the cut-back: the witnessed seqs exist again, with other hashes."""
    keep = witnessed_log.last_seq + 1
    dba_sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    dba_sql("DELETE FROM audit_auditcheckpoint WHERE id > %s", [witnessed_log.pk])
    dba_sql("UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s",
            [keep, AuditEvent.objects.get(seq=keep).hash])
    for n in range(12):
        audit_event_record(action="test.after_cut_back", message=str(n))
    newer_checkpoint_seq = keep + 5  # checkpoint B covered the five events after A's own event

    result = audit_chain_verify()
    assert not result.ok and result.bad_seq == newer_checkpoint_seq, result.summary()
    assert "hash differs from the witness" in result.reason


def test_the_untouched_log_agrees_with_the_witness(witnessed_log, witness):
    out = io.StringIO()
    call_command("audit_verify", "--witness", str(witness), stdout=out)
    head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    witnessed = AuditCheckpoint.objects.order_by("-id").first().last_seq + 1  # the head after B's own event
    assert out.getvalue().startswith(f"intact: {AuditEvent.objects.count()} events verified to #{head}, "
                                     f"2 signed checkpoints; witness agrees: 4 records up to #{witnessed} in ")
