"""Verifying the audit log: the hash chain, the signed checkpoints and the chain head.

`audit_chain_verify` streams the events in keyset chunks (`seq > last ORDER BY seq LIMIT n`, the
unique index on `seq`), so memory stays bounded whatever the size of the log, and stops at the first
problem, naming the event. It reads through one SQL statement per chunk and recomputes each hash
from the raw column values, byte-for-byte as `audit.services.audit_event_canonical` does for a
model instance (a test holds the two together).

What it detects, with the event it names:
- an edited event: its content no longer matches its hash (that event);
- a deleted event: a gap in `seq` (the missing number);
- an inserted event: the following event no longer links to its predecessor, or `seq`s collide;
- reordered events: `seq` is hashed, so the first moved event no longer matches its hash;
- a truncated tail: a signed checkpoint (or the chain head) covers events that are not there;
- a chain rewritten from some point on with recomputed hashes: it no longer matches the next signed
  checkpoint (the event at that checkpoint is named; the rewrite is at or before it);
- a replaced, edited or deleted checkpoint: its signature, or the signature chain, or the
  "audit.checkpoint" event recording it, no longer agree.

What the database alone cannot show, the external witness does (`audit.witness`): events deleted
after an older checkpoint together with the newer checkpoints and the head moved back, a tail
rewritten after the newest checkpoint, a truncated log.
"""

import hashlib
import json
import queue
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, connections

from .models import AuditChainHead, AuditCheckpoint, AuditEvent
from .services import GENESIS_HASH, HASHED_FIELDS, canonical_bytes, checkpoint_signature_valid, signing_keys

CHUNK = 5000


@dataclass
class VerifyResult:
    ok: bool
    verified: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    bad_seq: int | None = None
    bad_checkpoint: int | None = None
    reason: str = ""
    anchor_seq: int = 0
    notes: list[str] = field(default_factory=list)
    witness: str = ""  # what the external witness said, when one was checked

    def summary(self) -> str:
        if self.ok:
            start = f" from #{self.first_seq}" if self.first_seq and self.first_seq > 1 else ""
            return (f"intact: {self.verified} events verified{start}"
                    f"{f' to #{self.last_seq}' if self.last_seq else ''}, {self.checkpoints} signed checkpoints"
                    f"{f'; {self.witness}' if self.witness else ''}")
        where = f"event #{self.bad_seq}" if self.bad_seq is not None else f"checkpoint {self.bad_checkpoint}"
        return f"TAMPERED: first bad {where}: {self.reason} ({self.verified} events verified before it)"


# --- Reading rows fast ----------------------------------------------------------------------------

def _select_sql(vendor: str, names: tuple | list = HASHED_FIELDS) -> str:
    """`names` (seq first), then prev_hash and hash, with values already in canonical form where SQL
    can do it cheaply."""
    table = connection.ops.quote_name(AuditEvent._meta.db_table)
    columns = []
    for name in names:
        column = connection.ops.quote_name(name)
        if name == "occurred_at" and vendor == "postgresql":
            column = f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        elif name == "correlation_id" and vendor == "postgresql":
            column = f"{column}::text"
        columns.append(column)
    columns += ['"prev_hash"', '"hash"']
    return f"SELECT {', '.join(columns)} FROM {table} WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s"  # noqa: S608


def _sqlite_time(value) -> str:
    # Django keeps SQLite datetimes as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]"; its connection parses
    # declared datetime columns into naive (UTC) datetimes.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    date, _, rest = value.partition(" ")
    clock, _, fraction = rest[:26].partition(".")
    return f"{date}T{clock[:8]}.{fraction[:6].ljust(6, '0')}Z"


def _converters(vendor: str) -> dict[int, Callable]:
    index = {name: i for i, name in enumerate(HASHED_FIELDS)}
    out: dict[int, Callable] = {index["before"]: json.loads, index["after"]: json.loads}
    if vendor != "postgresql":
        out[index["occurred_at"]] = _sqlite_time
        out[index["correlation_id"]] = lambda v: str(uuid.UUID(v))
    return out


def iter_event_rows(*, chunk: int = CHUNK, after_seq: int = -1) -> Iterator[tuple]:
    """Every event as (seq, canonical dict, prev_hash, hash), in seq order, in bounded memory."""
    vendor = connection.vendor
    sql = _select_sql(vendor)
    converters = list(_converters(vendor).items())
    names = HASHED_FIELDS
    for rows in _iter_raw_chunks(sql, chunk, after_seq, prefetch=False):
        for row in rows:
            values = list(row[:-2])
            for i, convert in converters:
                if values[i] is not None:
                    values[i] = convert(values[i])
            yield values[0], dict(zip(names, values, strict=True)), row[-2], row[-1]


def _iter_raw_chunks(sql: str, chunk: int, after_seq: int, stop: int = 2**62,
                     prefetch: bool | None = None) -> Iterator[list[tuple]]:
    """Keyset chunks of `sql` (params: after, stop, limit). With `prefetch` (the default outside a
    transaction on PostgreSQL), a helper thread with its own connection fetches the next chunk while
    this one is being hashed; at most two chunks wait, so memory stays bounded."""
    if prefetch is None:
        prefetch = connection.vendor == "postgresql" and not connection.in_atomic_block
    if not prefetch:
        yield from _fetch_chunks(sql, chunk, after_seq, stop)
        return
    chunks: queue.Queue = queue.Queue(maxsize=2)
    stopped = threading.Event()

    def fetch() -> None:
        try:
            for rows in _fetch_chunks(sql, chunk, after_seq, stop):
                while not stopped.is_set():
                    try:
                        chunks.put(rows, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stopped.is_set():
                    return
            chunks.put(None)
        except BaseException as error:  # handed to the consumer
            chunks.put(error)
        finally:
            connections.close_all()

    worker = threading.Thread(target=fetch, name="audit-verify-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = chunks.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stopped.set()
        while worker.is_alive():
            try:
                chunks.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.1)


def _fetch_chunks(sql: str, chunk: int, after_seq: int, stop: int) -> Iterator[list[tuple]]:
    last = after_seq
    while True:
        with connection.cursor() as cursor:
            cursor.execute(sql, [last, stop, chunk])
            rows = cursor.fetchall()
        if not rows:
            return
        yield rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]


# The hashed JSON is `json.dumps(dict, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
# Its keys are always the same, so the verifier writes it directly: the key prefixes in sorted order,
# each value through the json module's own (C) string encoder, and before/after through the same
# json encoder the writer used. `canonical_bytes` and this must agree byte for byte (a test holds them).
_SORTED_FIELDS = sorted(HASHED_FIELDS)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _fast_select_sql(vendor: str) -> str:
    return _select_sql(vendor, ["seq", *_SORTED_FIELDS])


def row_hash(data: dict, prev_hash: str) -> str:
    """The hash of one row from `iter_event_rows` (the straightforward path, for the detail page and tests)."""
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_bytes(data)).hexdigest()


def iter_event_hashes(*, chunk: int = CHUNK, after_seq: int = -1, stop: int = 2**62,
                      prefetch: bool | None = None) -> Iterator[tuple[int, str, str, str, str]]:
    """Every event as (seq, action, prev_hash, stored hash, recomputed hash), in seq order, in bounded
    memory: the verifier's hot loop."""
    vendor = connection.vendor
    sql = _fast_select_sql(vendor)
    n = len(_SORTED_FIELDS)
    encode_string = json.encoder.encode_basestring
    encode = _ENCODER.encode
    loads = json.loads

    def scalar(value) -> str:
        if value is None:
            return "null"
        if type(value) is str:
            return encode_string(value)
        if type(value) is int:
            return int.__repr__(value)
        return encode(value)

    def json_text(value) -> str:
        return "null" if value is None else encode(loads(value))

    def sqlite_time(value) -> str:
        return "null" if value is None else encode_string(_sqlite_time(value))

    def sqlite_uuid(value) -> str:
        return "null" if value is None else encode_string(str(uuid.UUID(value)))

    special = {"before": json_text, "after": json_text}
    if vendor != "postgresql":
        special.update(occurred_at=sqlite_time, correlation_id=sqlite_uuid)
    plan = [(("{" if i == 0 else ",") + json.dumps(name) + ":", special.get(name, scalar))
            for i, name in enumerate(_SORTED_FIELDS)]
    action_column = _SORTED_FIELDS.index("action") + 1
    sha256 = hashlib.sha256
    for rows in _iter_raw_chunks(sql, chunk, after_seq, stop, prefetch):
        for row in rows:
            body = "".join([prefix + fn(value) for (prefix, fn), value in zip(plan, row[1:n + 1], strict=True)])
            prev_hash = row[n + 1]
            digest = sha256(f"{prev_hash}\n{body}}}".encode()).hexdigest()
            yield row[0], row[action_column], prev_hash, row[n + 2], digest


def _iter_checkpoints(order: str, min_last_seq: int | None = None, chunk: int = 1000) -> Iterator[AuditCheckpoint]:
    """Checkpoints in `order` ("id" or "last_seq"), keyset-chunked."""
    last_key: tuple = (-1, -1)
    while True:
        qs = AuditCheckpoint.objects.all()
        if min_last_seq is not None:
            qs = qs.filter(last_seq__gte=min_last_seq)
        if order == "id":
            qs = qs.filter(id__gt=last_key[1]).order_by("id")
        else:
            from django.db.models import Q

            qs = qs.filter(Q(last_seq__gt=last_key[0]) | Q(last_seq=last_key[0], id__gt=last_key[1]))
            qs = qs.order_by("last_seq", "id")
        batch = list(qs[:chunk])
        yield from batch
        if len(batch) < chunk:
            return
        last_key = (batch[-1].last_seq, batch[-1].id)


# --- The verifier ---------------------------------------------------------------------------------

def _verify_checkpoint_chain(result: VerifyResult) -> AuditCheckpoint | None:
    """Pass 1: every checkpoint is correctly signed and signs its predecessor. Returns the latest
    purge anchor (or None)."""
    keys = signing_keys()
    previous: AuditCheckpoint | None = None
    last_periodic_seq = -1
    anchor: AuditCheckpoint | None = None
    for checkpoint in _iter_checkpoints("id"):
        def bad(reason: str, cp: AuditCheckpoint = checkpoint) -> None:
            result.ok = False
            result.bad_checkpoint = cp.pk
            result.bad_seq = cp.last_seq
            result.reason = f"checkpoint {cp.pk} (covering #{cp.last_seq}): {reason}"

        if checkpoint.key_id not in keys:
            bad(f"signed with an unknown key {checkpoint.key_id!r} (set PIM_AUDIT_SIGNING_KEY_FALLBACKS?)")
            return None
        if not checkpoint_signature_valid(checkpoint=checkpoint, keys=keys):
            bad("signature is not valid (checkpoint forged or edited)")
            return None
        expected_prev = previous.signature if previous else ""
        if checkpoint.prev_signature != expected_prev:
            bad("does not sign the previous checkpoint's signature (a checkpoint was removed or replaced)")
            return None
        if checkpoint.kind == AuditCheckpoint.Kind.PURGE:
            if anchor is not None and checkpoint.last_seq < anchor.last_seq:
                bad(f"purge anchor goes back before the earlier anchor #{anchor.last_seq}")
                return None
            anchor = checkpoint
        else:
            if checkpoint.last_seq < last_periodic_seq:
                bad(f"goes back from #{last_periodic_seq} (checkpoints out of order)")
                return None
            last_periodic_seq = checkpoint.last_seq
        result.checkpoints += 1
        previous = checkpoint
    return anchor


def _snapshot() -> tuple[int, str, int, int]:
    """(chain head seq, head hash, newest event seq, newest periodic checkpoint seq), read in one
    statement so they are consistent with each other while writers keep appending."""
    head = connection.ops.quote_name(AuditChainHead._meta.db_table)
    events = connection.ops.quote_name(AuditEvent._meta.db_table)
    checkpoints = connection.ops.quote_name(AuditCheckpoint._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT last_seq FROM {head} WHERE id = 1), (SELECT last_hash FROM {head} WHERE id = 1), "  # noqa: S608
            f"(SELECT MAX(seq) FROM {events}), (SELECT MAX(last_seq) FROM {checkpoints} WHERE kind = 'periodic')"
        )
        head_seq, head_hash, max_seq, max_checkpoint = cursor.fetchone()
    return head_seq or 0, head_hash or GENESIS_HASH, max_seq or 0, max_checkpoint or 0


def audit_chain_verify(*, chunk: int = CHUNK, progress: Callable[[int], None] | None = None,
                       prefetch: bool | None = None, witness: str | None = None) -> VerifyResult:
    """Verify the log as of now (events appended while it runs are left for the next run), then
    compare it with the external witness: `witness` (a path or file:// URL), else the configured file
    sink, if any. What the database alone cannot show (a cut-back to an older checkpoint, a rewritten
    tail, a truncate) the witness does (`audit.witness.audit_witness_check`); it raises WitnessError
    when the witness cannot be read."""
    from .witness import audit_witness_check, configured_witness_file

    result = _chain_verify(chunk=chunk, progress=progress, prefetch=prefetch)
    source = witness or configured_witness_file()
    return audit_witness_check(result=result, source=source) if source else result


def _chain_verify(*, chunk: int, progress: Callable[[int], None] | None, prefetch: bool | None) -> VerifyResult:
    result = VerifyResult(ok=True)
    head_seq, head_hash, max_seq, max_checkpoint = _snapshot()
    stop = max(head_seq, max_seq, max_checkpoint)
    anchor = _verify_checkpoint_chain(result)
    if not result.ok:
        return result
    anchor_seq = anchor.last_seq if anchor else 0
    expected_prev = anchor.last_hash if anchor else GENESIS_HASH
    result.anchor_seq = anchor_seq
    expected_seq = anchor_seq + 1

    # Checkpoints in seq order, merged with the events as they stream by.
    checkpoints = (cp for cp in _iter_checkpoints("last_seq", min_last_seq=anchor_seq) if cp.last_seq <= stop)
    pending = next(checkpoints, None)
    while pending is not None and pending.last_seq == anchor_seq:
        if pending.last_hash != expected_prev:
            return _fail(result, anchor_seq + 1, f"checkpoint {pending.pk} at #{anchor_seq} disagrees with the "
                                                 f"{'purge anchor' if anchor else 'genesis'} hash")
        pending = next(checkpoints, None)

    recorded: list[int] = []  # seqs of "audit.checkpoint" events, checked a hundred at a time
    seq = anchor_seq
    for seq, action, prev_hash, stored_hash, recomputed in iter_event_hashes(chunk=chunk, stop=stop,
                                                                                  prefetch=prefetch):
        if seq != expected_seq:
            if seq < expected_seq:
                return _fail(result, seq, f"event precedes the purge anchor #{anchor_seq} (re-inserted?)")
            return _fail(result, expected_seq, f"missing (the next event present is #{seq}): deleted")
        if recomputed != stored_hash:
            return _fail(result, seq, "content does not match its hash: edited, inserted or moved")
        if prev_hash != expected_prev:
            return _fail(result, seq, f"does not link to #{seq - 1} (prev_hash differs): an event was inserted "
                                      f"or #{seq - 1} rewritten")
        while pending is not None and pending.last_seq == seq:
            if pending.last_hash != stored_hash:
                return _fail(result, seq, f"hash differs from signed checkpoint {pending.pk}: the chain was "
                                          f"rewritten at or before this event")
            pending = next(checkpoints, None)
        if action == "audit.checkpoint":
            recorded.append(seq)
            if len(recorded) >= 100:
                if (error := _check_recorded(recorded)) is not None:
                    return _fail(result, *error)
                recorded.clear()
        expected_prev = stored_hash
        expected_seq = seq + 1
        result.verified += 1
        if result.first_seq is None:
            result.first_seq = seq
        if progress is not None and result.verified % 100_000 == 0:
            progress(result.verified)
    if recorded and (error := _check_recorded(recorded)) is not None:
        return _fail(result, *error)
    last_seq = expected_seq - 1
    result.last_seq = last_seq or None
    if pending is not None:
        return _fail(result, last_seq + 1, f"missing: the log ends at #{last_seq} but signed checkpoint "
                                           f"{pending.pk} covers up to #{pending.last_seq} (tail truncated)")
    if head_seq > last_seq:
        return _fail(result, last_seq + 1, f"missing: the log ends at #{last_seq} but the chain head is at "
                                           f"#{head_seq} (tail truncated)")
    if head_seq < last_seq:
        return _fail(result, head_seq + 1, f"beyond the chain head #{head_seq}: appended outside the audit "
                                           f"service")
    if last_seq > anchor_seq and head_hash != expected_prev:
        return _fail(result, last_seq, "hash differs from the chain head's")
    return result


def _check_recorded(seqs: list[int]) -> tuple[int, str] | None:
    """Each "audit.checkpoint" event must name a checkpoint that still exists with the same content.
    (The events' own hashes were verified already, so their `after` can be trusted.)"""
    recorded = list(AuditEvent.objects.filter(seq__in=seqs).order_by("seq").values_list("seq", "after"))
    ids = [after.get("checkpoint") for _, after in recorded if isinstance(after, dict)]
    found = {cp.pk: cp for cp in AuditCheckpoint.objects.filter(pk__in=[i for i in ids if isinstance(i, int)])}
    for seq, after in recorded:
        after = after if isinstance(after, dict) else {}
        checkpoint = found.get(after.get("checkpoint"))
        if checkpoint is None:
            return seq, f"records checkpoint {after.get('checkpoint')}, which no longer exists (checkpoint deleted)"
        if (checkpoint.signature, checkpoint.last_seq, checkpoint.last_hash) != (
                after.get("signature"), after.get("last_seq"), after.get("last_hash")):
            return seq, f"records checkpoint {checkpoint.pk} differently from the stored one (checkpoint replaced)"
    return None


def _fail(result: VerifyResult, seq: int, reason: str) -> VerifyResult:
    result.ok = False
    result.bad_seq = seq
    result.reason = reason
    return result


def audit_event_chain_status(*, event: AuditEvent) -> dict:
    """The chain status of one event, for its detail page: its hash recomputed, its link to the
    previous event (or the genesis / purge anchor), and the nearest signed checkpoint covering it."""
    from .services import audit_event_hash

    recomputed = audit_event_hash(event=event, prev_hash=event.prev_hash)
    previous = AuditEvent.objects.filter(seq=event.seq - 1).values_list("hash", flat=True).first()
    if previous is None:
        anchor = AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.PURGE, last_seq=event.seq - 1).first()
        previous = anchor.last_hash if anchor else (GENESIS_HASH if event.seq == 1 else None)
    covering = AuditCheckpoint.objects.filter(kind=AuditCheckpoint.Kind.PERIODIC, last_seq__gte=event.seq) \
        .order_by("last_seq", "id").first()
    covering_ok = None
    if covering is not None:
        at = AuditEvent.objects.filter(seq=covering.last_seq).values_list("hash", flat=True).first()
        covering_ok = checkpoint_signature_valid(checkpoint=covering) and at == covering.last_hash
    hash_ok = recomputed == event.hash
    link_ok = previous is not None and previous == event.prev_hash
    return {
        "hash_ok": hash_ok,
        "recomputed": recomputed,
        "link_ok": link_ok,
        "previous_hash": previous,
        "checkpoint": covering,
        "checkpoint_ok": covering_ok,
        "ok": hash_ok and link_ok and covering_ok is not False,
    }
