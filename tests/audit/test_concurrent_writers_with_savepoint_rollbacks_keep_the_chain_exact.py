"""Writers in concurrent transactions that also roll back savepoints (a refused step inside a larger
change, then its refusal audited) keep one exact chain: no deadlock, every committed event in it
once, in seq order without gaps, and none of the events of the rolled-back savepoints (PostgreSQL)."""

import threading

import pytest
from django.db import connection, transaction

from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from audit.services import audit_checkpoint_create, audit_event_record, audit_refusal_record

WRITERS = 8
ITERATIONS = 25


class StepRefused(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_with_savepoint_rollbacks_keep_the_chain_exact(postgres):
    errors = []
    start = threading.Barrier(WRITERS)

    def writer(n):
        try:
            start.wait(timeout=30)
            for i in range(ITERATIONS):
                with transaction.atomic():
                    try:
                        with transaction.atomic():
                            audit_event_record(action="test.rolled_back", message=f"{n}-{i}")
                            raise StepRefused
                    except StepRefused:
                        audit_refusal_record(action="test.refused", message=f"{n}-{i}")
                    audit_event_record(action="test.kept", message=f"{n}-{i}")
                    audit_event_record(action="test.kept_too", message=f"{n}-{i}")
                if n == 0 and i % 10 == 0:
                    audit_checkpoint_create()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not errors, errors
    total = WRITERS * ITERATIONS
    assert not AuditEvent.objects.filter(action="test.rolled_back").exists()
    for action in ("test.refused", "test.kept", "test.kept_too"):
        assert AuditEvent.objects.filter(action=action).count() == total
    # Each transaction's own events stay together and in the order it recorded them.
    kept = dict(AuditEvent.objects.filter(action="test.kept").values_list("message", "seq"))
    kept_too = dict(AuditEvent.objects.filter(action="test.kept_too").values_list("message", "seq"))
    assert all(kept_too[message] == seq + 1 for message, seq in kept.items())
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    result = audit_chain_verify()
    assert result.ok, result.summary()
