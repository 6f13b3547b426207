"""Appending events to the hash chain: the only code that gives events their `seq` and `hash`.

Called by the database backend (`audit.backends.mixin`) right before a transaction commits, with the
events the transaction recorded, in order: lock the chain head (once per transaction), seal each
event (next seq, hash chained to the previous one), insert them all in one statement (COPY for the
large batches of set-based jobs on PostgreSQL), move the head. The caller commits at once, so the head
is held for these few statements and the COMMIT.
"""

import json

from django.db.models import QuerySet

from .models import AuditChainHead, AuditEvent
from .services import _seal

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


def append(*, connection, pending: list) -> None:
    """Seal and insert `pending` (`mixin.PendingEvents`, in order) and move the chain head."""
    if not pending:
        return
    seq, prev_hash = lock_head(connection=connection)
    for item in pending:
        for row in item.rows:
            seq += 1
            prev_hash = _seal(row, seq=seq, prev_hash=prev_hash)
    with_instances = [item for item in pending if item.events is not None]
    rows_only = [row for item in pending if item.events is None for row in item.rows]
    if with_instances:
        events = [event for item in with_instances for event in item.events]
        rows = [row for item in with_instances for row in item.rows]
        for event, row in zip(events, rows, strict=True):
            event.seq, event.prev_hash, event.hash = row["seq"], row["prev_hash"], row["hash"]
        _insert(connection, events, returning=True)
    if rows_only:
        if connection.vendor == "postgresql" and len(rows_only) >= COPY_FROM:
            _copy_events(rows_only, connection=connection)
        else:
            _insert(connection, [AuditEvent(**row) for row in rows_only], returning=False)
    AuditChainHead.objects.using(connection.alias).filter(pk=1).update(last_seq=seq, last_hash=prev_hash)


_INSERT_FIELDS = [f for f in AuditEvent._meta.concrete_fields if not f.primary_key]


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
