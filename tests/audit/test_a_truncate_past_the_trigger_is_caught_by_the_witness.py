"""A superuser who drops the TRUNCATE trigger and empties the events, the checkpoints and the chain
head leaves a database that verifies as an intact, empty log; the witness saw the chain and says
what is missing, from the first event on."""

import io

import pytest
from django.core.management import call_command
from django.db import connection

from audit.integrity import audit_chain_verify
from audit.models import AuditCheckpoint
from audit.services import audit_event_record
from audit.tasks import audit_checkpoint


@pytest.fixture
def witnessed_log(events, witness, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert AuditCheckpoint.objects.filter(pk=audit_checkpoint()).exists()  # witnessed on commit
    audit_event_record(action="test.after_checkpoint")
    return witness


def test_truncate_by_a_superuser_is_caught(witnessed_log, postgres, settings):
    with connection.cursor() as cursor:
        for table in ("audit_auditevent", "audit_auditcheckpoint", "audit_auditchainhead"):
            cursor.execute(f"DROP TRIGGER audit_{table.removeprefix('audit_')}_no_truncate ON {table}")
        cursor.execute("TRUNCATE audit_auditevent, audit_auditcheckpoint, audit_auditchainhead")

    settings.PIM_AUDIT_WITNESS = ""
    assert audit_chain_verify().ok, "the database alone cannot tell"

    result = audit_chain_verify(witness=str(witnessed_log))
    assert not result.ok and result.bad_seq == 1, result.summary()
    assert "the log ends at #0 but the witness saw" in result.reason
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_verify", "--witness", str(witnessed_log), stdout=out)
    assert exit_.value.code == 1
    assert "first bad event #1: missing" in out.getvalue()
