"""A DBA who edits the audit table directly (the append-only triggers disabled) is caught by
`audit_verify`, which names the first bad event: edit, delete, insert, reorder, truncate the tail,
rewrite the chain with recomputed hashes, replace or delete a checkpoint."""

import io

import pytest
from django.core.management import call_command

from audit.integrity import audit_chain_verify, iter_event_rows, row_hash
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import audit_checkpoint_create, audit_event_record, checkpoint_signature
from tests.audit.dba import dba_sql

BAD = 10  # the event the tests tamper with


@pytest.fixture
def log(events):
    """A log with a signed checkpoint in the middle and a few events after it."""
    audit_checkpoint_create()
    for n in range(3):
        audit_event_record(action="test.after_checkpoint", message=f"n={n}")
    return AuditCheckpoint.objects.get()


def sql(statement, params=()):
    """Run SQL as a DBA would: with the append-only triggers out of the way (for this test's
    transaction only; it is rolled back)."""
    dba_sql(statement, params)


def last_seq():
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()


def assert_caught(seq, words):
    result = audit_chain_verify()
    assert not result.ok
    assert result.bad_seq == seq, result.summary()
    assert words in result.reason, result.summary()
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_verify", stdout=out)
    assert exit_.value.code == 1
    assert f"first bad event #{seq}:" in out.getvalue()


def test_the_untouched_log_verifies(log):
    assert audit_chain_verify().ok


def test_an_edited_event_is_named(log):
    sql("UPDATE audit_auditevent SET justification = 'nothing to see' WHERE seq = %s", [BAD])
    assert_caught(BAD, "content does not match its hash")


def test_a_deleted_event_is_named(log):
    sql("DELETE FROM audit_auditevent WHERE seq = %s", [BAD])
    assert_caught(BAD, "missing")


def test_an_event_inserted_in_the_middle_is_caught_at_the_next_one(log):
    """The forger shifts the later events up, gives the forged one a correct hash over the real
    predecessor and moves the chain head: the first shifted event no longer matches (its seq is hashed)."""
    sql("UPDATE audit_auditevent SET seq = -(seq + 1) WHERE seq >= %s", [BAD])
    sql("UPDATE audit_auditevent SET seq = -seq WHERE seq < 0")
    prev = AuditEvent.objects.get(seq=BAD - 1)
    forged = AuditEvent(seq=BAD, occurred_at=prev.occurred_at, action="assignment.create", actor_label="mallory",
                        prev_hash=prev.hash)
    from audit.services import audit_event_hash

    forged.hash = audit_event_hash(event=forged, prev_hash=prev.hash)
    forged.save()
    sql("UPDATE audit_auditchainhead SET last_seq = last_seq + 1")
    assert_caught(BAD + 1, "content does not match its hash")


def test_an_event_appended_behind_the_services_back_is_named(log):
    head = AuditChainHead.objects.get(pk=1)
    forged = AuditEvent(seq=head.last_seq + 1, occurred_at=AuditEvent.objects.get(seq=head.last_seq).occurred_at,
                        action="user.sign_in", actor_label="mallory", prev_hash=head.last_hash)
    from audit.services import audit_event_hash

    forged.hash = audit_event_hash(event=forged, prev_hash=head.last_hash)
    forged.save()
    assert_caught(head.last_seq + 1, "beyond the chain head")


def test_reordered_events_are_named(log):
    sql("UPDATE audit_auditevent SET seq = -1 WHERE seq = %s", [BAD])
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = %s", [BAD, BAD + 1])
    sql("UPDATE audit_auditevent SET seq = %s WHERE seq = -1", [BAD + 1])
    assert_caught(BAD, "content does not match its hash")


def test_a_truncated_tail_is_caught_by_the_signed_checkpoint(log):
    """Even with the chain head rolled back to match, the checkpoint still covers the deleted events."""
    keep = log.last_seq - 5
    sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    sql("UPDATE audit_auditchainhead SET last_seq = %s, last_hash = %s",
        [keep, AuditEvent.objects.get(seq=keep).hash])
    assert_caught(keep + 1, "tail truncated")


def test_a_truncated_tail_is_caught_by_the_chain_head(log):
    keep = last_seq() - 2
    sql("DELETE FROM audit_auditevent WHERE seq > %s", [keep])
    assert_caught(keep + 1, "chain head")


def test_a_chain_rewritten_with_recomputed_hashes_is_caught_at_the_next_checkpoint(log):
    """Whoever knows the (public) hashing scheme can recompute every later hash; only the signed
    checkpoint, which needs the key, gives it away."""
    sql("UPDATE audit_auditevent SET justification = 'rewritten' WHERE seq = %s", [BAD])
    prev_hash = AuditEvent.objects.get(seq=BAD - 1).hash
    for seq, data, _, _ in list(iter_event_rows(after_seq=BAD - 1)):
        new_hash = row_hash(data, prev_hash)
        sql("UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE seq = %s", [prev_hash, new_hash, seq])
        prev_hash = new_hash
    sql("UPDATE audit_auditchainhead SET last_hash = %s", [prev_hash])
    assert_caught(log.last_seq, "differs from signed checkpoint")


def test_an_edited_checkpoint_is_caught(log):
    sql("UPDATE audit_auditcheckpoint SET last_hash = %s WHERE id = %s", ["f" * 64, log.pk])
    result = audit_chain_verify()
    assert not result.ok and result.bad_checkpoint == log.pk and "signature is not valid" in result.reason
    assert result.bad_seq == log.last_seq


def test_a_checkpoint_replaced_and_signed_with_another_key_is_caught(log):
    signature = checkpoint_signature(key="not-the-key", kind=log.kind, last_seq=log.last_seq, last_hash=log.last_hash,
                                     prev_signature=log.prev_signature, created_at=log.created_at)
    sql("UPDATE audit_auditcheckpoint SET signature = %s WHERE id = %s", [signature, log.pk])
    result = audit_chain_verify()
    assert not result.ok and result.bad_checkpoint == log.pk and "signature is not valid" in result.reason


def test_a_deleted_checkpoint_is_caught_by_the_event_that_recorded_it(log):
    sql("DELETE FROM audit_auditcheckpoint WHERE id = %s", [log.pk])
    recorded = AuditEvent.objects.get(action="audit.checkpoint").seq
    assert_caught(recorded, "no longer exists")
