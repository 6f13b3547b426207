"""Appending events to the hash chain: the only code that gives events their `seq` and `hash`.

Called by the database backend (`audit.backends.mixin`) right before a transaction commits, with the
events the transaction recorded, in order: lock the chain head (once per transaction), seal each
event (next seq, hash chained to the previous one), insert them and move the head. On PostgreSQL the
insert and the move are one statement whose parameters were prepared before the lock (COPY for the
large batches of set-based jobs); the caller commits at once, so the head is held for the locking
SELECT, that statement and the COMMIT.
"""

import json
import uuid
from datetime import datetime

from django.db import DatabaseError
from django.db.models import QuerySet

from .models import AuditChainHead, AuditEvent
from .services import _seal, canonical_around_seq
from .witness import audit_witness_nudge

# Batches at least this large, without instances to hand back, go through COPY on PostgreSQL.
COPY_FROM = 200


def lock_head(*, connection) -> tuple[int, str]:
    """(last seq, last hash) of the chain, locked for this transaction (locked once: a transaction
    that holds it already reads it without locking it again in a savepoint, which PostgreSQL could
    otherwise turn into a deadlock with the writers queued on the row)."""
    heads = AuditChainHead.objects.using(connection.alias)
    if connection.audit_head_locked_in is None:
        heads = heads.select_for_update()
    head = heads.filter(pk=1).values_list("last_seq", "last_hash").first()
    if head is None:
        # Created by migration 0002; here only on a database that was emptied after migrating, which
        # has no concurrent writers yet.
        AuditChainHead.objects.using(connection.alias).get_or_create(pk=1)
        head = (AuditChainHead.objects.using(connection.alias).select_for_update().filter(pk=1)
                .values_list("last_seq", "last_hash").get())
    connection.audit_note_head_locked()
    return head


# PostgreSQL: up to this many events are sealed by the database itself, in the statement that
# inserts them and moves the head (`_seal_insert_and_move_head`).
ONE_STATEMENT_UP_TO = 500


def append(*, connection, pending: list, then_commit: bool = False) -> bool:
    """Seal and insert `pending` (`mixin.PendingEvents`, in order) and move the chain head.

    On PostgreSQL (up to ONE_STATEMENT_UP_TO events) one statement locks the head, seals each event
    in SQL (sha256 over the same bytes as `_seal`), inserts them and moves the head; with
    `then_commit` the COMMIT goes in the same round trip, so the head is held for that statement
    and the COMMIT alone, never while this process waits for its turn on a CPU. Returns True when it
    committed. Elsewhere (SQLite, the large batches of set-based jobs): lock, seal in Python, insert,
    move the head."""
    if not pending:
        return False
    count = sum(len(item.rows) for item in pending)
    if connection.vendor == "postgresql" and count <= ONE_STATEMENT_UP_TO:
        last_seq = _seal_insert_and_move_head(connection, pending, then_commit=then_commit)
        committed = then_commit
    else:
        seq, prev_hash = lock_head(connection=connection)
        for item in pending:
            for row in item.rows:
                seq += 1
                prev_hash = _seal(row, seq=seq, prev_hash=prev_hash)
        _insert_then_move_head(connection, pending, last_seq=seq, last_hash=prev_hash)
        last_seq, committed = seq, False
    # The head moved: tell the external witness how far the chain got, so that it is written every
    # PIM_AUDIT_WITNESS_EVERY_EVENTS events. This only registers an on-commit callback.
    audit_witness_nudge(last_seq=last_seq)
    return committed


def _insert_then_move_head(connection, pending: list, *, last_seq: int, last_hash: str) -> None:
    """The general path: INSERTs (or COPY for the large batches of set-based jobs), then the head's UPDATE."""
    with_instances = [item for item in pending if item.events is not None]
    rows_only = [row for item in pending if item.events is None for row in item.rows]
    if with_instances:
        events = [event for item in with_instances for event in item.events]
        rows = [row for item in with_instances for row in item.rows]
        for event, row in zip(events, rows, strict=True):
            _take_chain_values(event, row)
        _insert(connection, events, returning=True)
    if rows_only:
        if connection.vendor == "postgresql" and len(rows_only) >= COPY_FROM:
            _copy_events(rows_only, connection=connection)
        else:
            _insert(connection, [AuditEvent(**row) for row in rows_only], returning=False)
    AuditChainHead.objects.using(connection.alias).filter(pk=1).update(last_seq=last_seq, last_hash=last_hash)


def _take_chain_values(event: AuditEvent, row: dict) -> None:
    event.seq, event.prev_hash, event.hash = row["seq"], row["prev_hash"], row["hash"]


_INSERT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]
_CHAIN_COLUMNS = ("seq", "prev_hash", "hash")
_DATA_FIELDS = [f for f in _INSERT_FIELDS if f.column not in _CHAIN_COLUMNS]


def _json_value(value):
    """A row value as jsonb_populate_record reads it back into its column, unchanged."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


_ENSURE_HEAD = (f"INSERT INTO {AuditChainHead._meta.db_table} (id, last_seq, last_hash) "  # noqa: S608 - model names only
                f"VALUES (1, 0, '{AuditChainHead._meta.get_field('last_hash').default}') ON CONFLICT (id) DO NOTHING")


def _seal_sql(connection, *, lock: bool) -> str:
    """The append as one statement. Its parameters: the events' canonical bytes before and after their
    seq (bytea[]) and their other columns (a jsonb array), in order. `chain` walks the events from the
    head, giving each the next seq and sha256(prev_hash, a newline, head, seq, tail) in hex, the bytes
    and hash of `audit.services._seal`; `ins` inserts them; `moved` moves the head to the last one."""
    quote = connection.ops.quote_name
    event, head = AuditEvent._meta, AuditChainHead._meta
    data = ", ".join(f"r.{quote(f.column)}" for f in _DATA_FIELDS)
    columns = ", ".join(quote(f.column) for f in _DATA_FIELDS)
    return (
        f"WITH RECURSIVE head AS (SELECT last_seq, last_hash FROM {quote(head.db_table)} "  # noqa: S608 - model names only
        f"WHERE {quote(head.pk.column)} = 1{' FOR UPDATE' if lock else ''}), "
        "input AS (SELECT t.ord, t.head_bytes, t.tail_bytes, (%s::jsonb) -> (t.ord::int - 1) AS row_data "
        "FROM unnest(%s::bytea[], %s::bytea[]) WITH ORDINALITY AS t(head_bytes, tail_bytes, ord)), "
        "chain(ord, seq, prev_hash, hash) AS ("
        "SELECT 0::bigint, last_seq, NULL::text, last_hash::text FROM head "
        "UNION ALL SELECT i.ord, c.seq + 1, c.hash, encode(sha256(convert_to(c.hash || E'\\n', 'UTF8') || "
        "i.head_bytes || convert_to((c.seq + 1)::text, 'UTF8') || i.tail_bytes), 'hex') "
        "FROM chain c JOIN input i ON i.ord = c.ord + 1), "
        f"ins AS (INSERT INTO {quote(event.db_table)} ({columns}, seq, prev_hash, hash) "
        f"SELECT {data}, c.seq, c.prev_hash, c.hash FROM chain c JOIN input i ON i.ord = c.ord "
        f"CROSS JOIN LATERAL jsonb_populate_record(NULL::{quote(event.db_table)}, i.row_data) r ORDER BY c.ord "
        f"RETURNING {quote(event.pk.column)}, seq, prev_hash, hash), "
        f"moved AS (UPDATE {quote(head.db_table)} SET last_seq = last.seq, last_hash = last.hash "
        f"FROM (SELECT seq, hash FROM chain ORDER BY ord DESC LIMIT 1) last WHERE {quote(head.pk.column)} = 1) "
        "SELECT * FROM ins ORDER BY seq"
    )


def _seal_insert_and_move_head(connection, pending: list, *, then_commit: bool) -> int:
    """PostgreSQL: lock, seal, insert and move the head in one statement (and COMMIT in the same round
    trip with `then_commit`). Gives the rows and the caller's instances their chain values and ids;
    returns the last seq."""
    rows = [row for item in pending for row in item.rows]
    heads, tails, data = [], [], []
    for row in rows:
        head_bytes, tail_bytes = canonical_around_seq(row)
        heads.append(head_bytes)
        tails.append(tail_bytes)
        data.append({f.column: _json_value(row.get(f.attname)) for f in _DATA_FIELDS})
    lock = connection.audit_head_locked_in is None
    sql = _seal_sql(connection, lock=lock)
    if lock:
        # The head row exists but on a database emptied since it was migrated (tests that flush):
        # create it there, in the same round trip (a writer racing to create it waits for this one).
        sql = f"{_ENSURE_HEAD}; {sql}"
    if then_commit:
        # One simple-protocol message (Django's psycopg cursor binds on the client): PostgreSQL runs
        # the append and the COMMIT back to back. psycopg then sees the transaction ended, and the
        # connection's own commit() sends nothing more.
        sql += "; COMMIT"
    with connection.cursor() as cursor:
        cursor.execute(sql, [json.dumps(data), heads, tails])
        if lock:
            cursor.nextset()
        sealed = cursor.fetchall()
    if len(sealed) != len(rows):
        raise DatabaseError(f"The audit append wrote {len(sealed)} of {len(rows)} events.")
    if lock:
        connection.audit_note_head_locked()
    for row, (_pk, seq, prev_hash, hash_) in zip(rows, sealed, strict=True):
        row["seq"], row["prev_hash"], row["hash"] = seq, prev_hash, hash_
    offset = 0
    for item in pending:
        if item.events is not None:
            stored = sealed[offset:offset + len(item.rows)]
            for event, row, (event_id, *_) in zip(item.events, item.rows, stored, strict=True):
                _take_chain_values(event, row)
                _saved_as(event, event_id, connection)
        offset += len(item.rows)
    return rows[-1]["seq"]


def _insert(connection, events: list[AuditEvent], *, returning: bool) -> None:
    """Multi-row INSERTs (RETURNING the ids when the caller holds the instances). The append-only
    QuerySet refuses bulk_create to keep writers on the audit service; this is the service's append."""
    queryset = QuerySet(model=AuditEvent, using=connection.alias)
    size = connection.ops.bulk_batch_size(_INSERT_FIELDS, events) or len(events)
    pk = AuditEvent._meta.pk
    for start in range(0, len(events), size):
        chunk = events[start:start + size]
        ids = queryset._insert(chunk, fields=_INSERT_FIELDS, returning_fields=[pk] if returning else None,
                               using=connection.alias)
        if returning:
            for event, (event_id,) in zip(chunk, ids, strict=True):
                _saved_as(event, event_id, connection)


def _saved_as(event: AuditEvent, event_id: int, connection) -> None:
    """The caller's instance is now the stored row `event_id`."""
    event.pk = event_id
    event._state.adding = False
    event._state.db = connection.alias


def _copy_events(rows: list[dict], *, connection) -> None:
    """COPY the rows in (PostgreSQL): no statement size limit, and the cheapest per row."""
    columns = [f.attname for f in _INSERT_FIELDS]
    json_columns = {f.attname for f in _INSERT_FIELDS if f.get_internal_type() == "JSONField"}
    dumps = json.dumps
    with connection.cursor() as cursor:
        sql = f"COPY {AuditEvent._meta.db_table} ({', '.join(f.column for f in _INSERT_FIELDS)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row([
                    (None if row[name] is None else dumps(row[name])) if name in json_columns else row[name]
                    for name in columns
                ])
