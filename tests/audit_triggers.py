"""Django's flush (after every transactional test) empties every table, the audit log included, which
the append-only triggers refuse (TRUNCATE on PostgreSQL, DELETE on SQLite). The test harness steps
around them for the flush only, the way a table owner could: the production triggers keep no bypass."""

from django.db import transaction
from django.db.backends.base.operations import BaseDatabaseOperations

AUDIT_TABLES = ("audit_auditevent", "audit_auditcheckpoint", "audit_auditchainhead")
_flush = BaseDatabaseOperations.execute_sql_flush


def _execute_sql_flush_past_audit_triggers(self, sql_list):
    connection = self.connection
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            _flush(self, sql_list)
            for table in AUDIT_TABLES:
                cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s, %s)",
                           AUDIT_TABLES)
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f'DROP TRIGGER "{name}"')
            _flush(self, sql_list)
            for _, sql in triggers:
                cursor.execute(sql)
        else:
            _flush(self, sql_list)


def install() -> None:
    BaseDatabaseOperations.execute_sql_flush = _execute_sql_flush_past_audit_triggers
