"""SQL run as a database administrator would: with the audit log's append-only triggers out of the way
(for the test's transaction only: it is rolled back, and SQLite's DDL is transactional too)."""

from django.db import connection

AUDIT_TABLES = ("audit_auditevent", "audit_auditcheckpoint", "audit_auditchainhead")


def triggers_out_of_the_way(cursor) -> None:
    if connection.vendor == "postgresql":
        for table in AUDIT_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
    else:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN (%s, %s, %s)",
                       AUDIT_TABLES)
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP TRIGGER "{name}"')


def dba_sql(statement: str, params=()) -> None:
    with connection.cursor() as cursor:
        triggers_out_of_the_way(cursor)
        cursor.execute(statement, params)
