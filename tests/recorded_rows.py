"""Fixture data built once per test session and written again into each test's transaction.

Running `bootstrap_all()` (built-in roles, their default policies, two emergency accounts, each write
through the services with its audit event) for every test that asks for the directory was most of
the suite's time; the API tests' directory of personas was most of the rest. Instead the session
builds each of them once in a transaction, records the rows the build added and changed, as the
database returned them, and rolls back. A test that runs inside a transaction (pytest-django's `db`)
then gets those rows written straight into it, one INSERT/UPDATE statement per table, and loses them
with the rollback at its end like anything else it wrote.

Rows are only valid on top of the state they were recorded on (the audit chain head, say, is a row
that each build moves on). `replay()` checks that state first: the row counts of the tables the
build touches and the rows it changes must be as they were at recording. Otherwise (a database
flushed by a test that committed, another fixture that wrote first) it writes nothing, and the
fixture runs its real build. So do tests outside a transaction (`transactional_db`, live servers,
threads): their commits must run the build's on-commit work as before.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.db import connection, transaction


@dataclass
class TableRows:
    table: str
    pk: str
    columns: list[str]  # pk first
    count_before: int
    inserted: list[tuple] = field(default_factory=list)
    updated: list[tuple] = field(default_factory=list)
    updated_before: list[tuple] = field(default_factory=list)  # the same rows as they were before


def _tables() -> list[tuple[str, str, list[str]]]:
    """(table, pk column, [pk column, other columns…]) for every table of the installed models."""
    seen, tables = set(), []
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.db_table in seen:
            continue
        seen.add(meta.db_table)
        pk = meta.pk.column
        tables.append((meta.db_table, pk, [pk, *(f.column for f in meta.local_concrete_fields if f.column != pk)]))
    return tables


def _rows(cursor, table: str, columns: list[str]) -> dict:
    q = connection.ops.quote_name
    cursor.execute(f"SELECT {', '.join(q(c) for c in columns)} FROM {q(table)}")  # noqa: S608
    return {row[0]: tuple(row) for row in cursor.fetchall()}


class RecordedRows:
    """The rows `build()` adds and changes on top of the current database, and what it returned
    (`result`, which must not hold model instances: they would be shared by every test)."""

    def __init__(self, build: Callable[[], Any]):
        self.tables: list[TableRows] = []
        with transaction.atomic(), connection.cursor() as cursor:
            tables = _tables()
            before = {table: _rows(cursor, table, columns) for table, _pk, columns in tables}
            self.result = build()
            # The audit chain appends a transaction's events at its commit (audit.backends); this one
            # rolls back, so append them now, or the recording would leave out the build's events.
            if getattr(connection, "audit_pending", None):
                connection.audit_flush()
            for table, pk, columns in tables:
                after, old = _rows(cursor, table, columns), before[table]
                if old.keys() - after.keys():
                    raise RuntimeError(f"the build deleted rows of {table}: it cannot be recorded as additions")
                rows = TableRows(table=table, pk=pk, columns=columns, count_before=len(old))
                for key, row in after.items():
                    if key not in old:
                        rows.inserted.append(row)
                    elif row != old[key]:
                        rows.updated.append(row)
                        rows.updated_before.append(old[key])
                if rows.inserted or rows.updated:
                    self.tables.append(rows)
            transaction.set_rollback(True)

    def replay(self) -> bool:
        """Write the rows into the current test's transaction if it is on the recorded state; False
        (nothing written) if it is not, or if the test runs outside a transaction."""
        if not connection.in_atomic_block or not self._on_the_recorded_state():
            return False
        q = connection.ops.quote_name
        with connection.cursor() as cursor:
            for rows in self.tables:
                columns = ", ".join(q(c) for c in rows.columns)
                if rows.inserted:
                    placeholders = ", ".join(["%s"] * len(rows.columns))
                    cursor.executemany(f"INSERT INTO {q(rows.table)} ({columns}) VALUES ({placeholders})",  # noqa: S608
                                       rows.inserted)
                if rows.updated:
                    assignments = ", ".join(f"{q(c)} = %s" for c in rows.columns[1:])
                    cursor.executemany(f"UPDATE {q(rows.table)} SET {assignments} WHERE {q(rows.pk)} = %s",  # noqa: S608
                                       [(*row[1:], row[0]) for row in rows.updated])
        return True

    def _on_the_recorded_state(self) -> bool:
        """One query for the row counts of the tables the build touches, and one per table whose rows
        it changes."""
        if not self.tables:
            return True
        q = connection.ops.quote_name
        counts = ", ".join(f"(SELECT COUNT(*) FROM {q(rows.table)})" for rows in self.tables)  # noqa: S608
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {counts}")
            if list(cursor.fetchone()) != [rows.count_before for rows in self.tables]:
                return False
            for rows in self.tables:
                if rows.updated:
                    current = _rows(cursor, rows.table, rows.columns)
                    if [current.get(row[0]) for row in rows.updated_before] != rows.updated_before:
                        return False
        return True
