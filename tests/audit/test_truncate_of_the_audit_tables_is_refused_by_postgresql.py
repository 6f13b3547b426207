"""TRUNCATE of the audit tables is refused on PostgreSQL (the UPDATE/DELETE trigger does not fire on
TRUNCATE, and a TRUNCATE of the events, the checkpoints and the chain head used to verify as an intact,
empty log). Only a superuser or the tables' owner can get past it, by disabling the trigger: the
external witness catches that (test_a_truncate_past_the_trigger_is_caught_by_the_witness)."""

import pytest
from django.db import DatabaseError, connection, transaction

from audit.integrity import audit_chain_verify
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent
from audit.services import audit_checkpoint_create


@pytest.mark.parametrize("tables", [
    "audit_auditevent",
    "audit_auditcheckpoint",
    "audit_auditchainhead",
    "audit_auditevent, audit_auditcheckpoint, audit_auditchainhead",
])
def test_truncate_is_refused_and_the_log_stays(events, postgres, tables):
    audit_checkpoint_create()
    count = AuditEvent.objects.count()
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE"), transaction.atomic(), \
            connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")
    assert AuditEvent.objects.count() == count
    assert AuditCheckpoint.objects.exists() and AuditChainHead.objects.filter(pk=1).exists()
    assert audit_chain_verify().ok
