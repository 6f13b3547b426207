"""Writers in concurrent transactions queue on the chain head's row lock: one gap-free chain,
whatever the interleaving (PostgreSQL)."""

import threading

import pytest
from django.db import connection, transaction

from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from audit.services import audit_checkpoint_create, audit_event_record


@pytest.mark.django_db(transaction=True)
def test_parallel_writers_and_checkpoints_keep_the_chain_intact(postgres):
    errors = []
    start = threading.Barrier(4)

    def writer(n):
        try:
            start.wait()
            for i in range(15):
                with transaction.atomic():
                    audit_event_record(action="test.concurrent", message=f"{n}-{i}")
                if i % 5 == 0:
                    audit_checkpoint_create()
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert AuditEvent.objects.filter(action="test.concurrent").count() == 60
    result = audit_chain_verify()
    assert result.ok, result.summary()
