"""The audit log cannot be cut back from inside the database by the application's own role.

PostgreSQL: TRUNCATE is refused on the events, the checkpoints and the chain head (migration 0002
refused UPDATE and DELETE only, and a TRUNCATE of all three verified as an intact empty log). Only a
table owner or superuser can get past it, by disabling or dropping the trigger; the external witness
(`audit.witness`) is what catches that.

SQLite has no TRUNCATE; what it allows is a DELETE trigger. Events may be deleted only when a purge
anchor covers them (`audit_purge` inserts its signed anchor first, then deletes up to it), so a
forged anchor would be needed, and `audit_verify` refuses an unsigned one. Checkpoints are never
deleted. (Django's test flush steps around these triggers: see tests/audit_triggers.py.) SQLite drops
a table's triggers when a later migration rebuilds that table: recreate them there.
"""

from django.db import migrations

PG_FORWARD = """
CREATE TRIGGER audit_auditevent_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditcheckpoint_no_truncate BEFORE TRUNCATE ON audit_auditcheckpoint
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_auditchainhead_no_truncate BEFORE TRUNCATE ON audit_auditchainhead
    FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_no_truncate ON audit_auditevent;
DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_truncate ON audit_auditcheckpoint;
DROP TRIGGER IF EXISTS audit_auditchainhead_no_truncate ON audit_auditchainhead;
"""
SQLITE_FORWARD = [
    """CREATE TRIGGER IF NOT EXISTS audit_auditevent_no_delete BEFORE DELETE ON audit_auditevent
       WHEN NOT EXISTS (SELECT 1 FROM audit_auditcheckpoint WHERE kind = 'purge' AND last_seq >= OLD.seq)
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on audit_auditevent refused'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_auditcheckpoint_no_delete BEFORE DELETE ON audit_auditcheckpoint
       BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE on audit_auditcheckpoint refused'); END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS audit_auditevent_no_delete",
    "DROP TRIGGER IF EXISTS audit_auditcheckpoint_no_delete",
]


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('audit', '0003_partial_actor_and_correlation_indexes'),
    ]

    operations = [
        migrations.RunPython(triggers_create, triggers_drop),
    ]
