"""Appending events to the hash chain: the only code that gives events their `seq` and `hash`.

Called by the database backend (`audit.backends.mixin`) right before a transaction commits, with the
events the transaction recorded, in order: lock the chain head (once per transaction), seal each
event (next seq, hash chained to the previous one), insert them and move the head. On PostgreSQL the
insert and the move are one statement whose parameters were prepared before the lock (COPY for the
large batches of set-based jobs); the caller commits at once, so the head is held for the locking
SELECT, that statement and the COMMIT.
"""

import json

from django.db.models import QuerySet

from .models import AuditChainHead, AuditEvent
from .services import _seal
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


# PostgreSQL: up to this many events go in with the head's move as ONE statement, its parameters
# prepared before the head is locked, so that the lock lives for that statement and the COMMIT.
ONE_STATEMENT_UP_TO = 500


def append(*, connection, pending: list) -> None:
    """Seal and insert `pending` (`mixin.PendingEvents`, in order) and move the chain head."""
    if not pending:
        return
    count = sum(len(item.rows) for item in pending)
    one_statement = connection.vendor == "postgresql" and count <= ONE_STATEMENT_UP_TO
    prepared = _prepare(connection, pending) if one_statement else None
    seq, prev_hash = lock_head(connection=connection)
    for item in pending:
        for row in item.rows:
            seq += 1
            prev_hash = _seal(row, seq=seq, prev_hash=prev_hash)
    if one_statement:
        _insert_and_move_head(connection, pending, prepared, last_seq=seq, last_hash=prev_hash)
    else:
        _insert_then_move_head(connection, pending, last_seq=seq, last_hash=prev_hash)
    # The head moved: tell the external witness how far the chain got, so that it is written every
    # PIM_AUDIT_WITNESS_EVERY_EVENTS events. This only registers an on-commit callback.
    audit_witness_nudge(last_seq=seq)


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
_SEALED = [index for index, f in enumerate(_INSERT_FIELDS) if f.attname in ("seq", "prev_hash", "hash")]


def _prepare(connection, pending: list) -> list[list]:
    """Each row's database values in `_INSERT_FIELDS` order, before the lock; the chain's own three
    (seq, prev_hash, hash) are filled in by `_insert_and_move_head` once sealed."""
    return [[None if index in _SEALED else field.get_db_prep_save(row.get(field.attname), connection)
             for index, field in enumerate(_INSERT_FIELDS)]
            for item in pending for row in item.rows]


def _insert_and_move_head(connection, pending: list, prepared: list[list], *, last_seq: int, last_hash: str) -> None:
    """INSERT the sealed events and UPDATE the head in one round trip (a data-modifying CTE), giving
    the caller's instances their ids."""
    quote = connection.ops.quote_name
    rows = [row for item in pending for row in item.rows]
    params: list = []
    for values, row in zip(prepared, rows, strict=True):
        for index in _SEALED:
            values[index] = row[_INSERT_FIELDS[index].attname]
        params += values
    one_row = "(" + ", ".join(["%s"] * len(_INSERT_FIELDS)) + ")"
    head = AuditChainHead._meta
    sql = (f"WITH ins AS (INSERT INTO {quote(AuditEvent._meta.db_table)} "  # noqa: S608 - model names only
           f"({', '.join(quote(f.column) for f in _INSERT_FIELDS)}) VALUES {', '.join([one_row] * len(rows))} "
           f"RETURNING {quote(AuditEvent._meta.pk.column)}, {quote('seq')}), "
           f"head AS (UPDATE {quote(head.db_table)} SET {quote('last_seq')} = %s, {quote('last_hash')} = %s "
           f"WHERE {quote(head.pk.column)} = 1) SELECT * FROM ins")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, last_seq, last_hash])
        ids = dict((seq, pk) for pk, seq in cursor.fetchall())
    for item in pending:
        if item.events is None:
            continue
        for event, row in zip(item.events, item.rows, strict=True):
            _take_chain_values(event, row)
            _saved_as(event, ids[row["seq"]], connection)


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
