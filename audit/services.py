"""The audit write path. Call `audit_event_record` inside the transaction of the change it records;
the event is built here and appended to the chain when that transaction commits (`audit.chain`, run
by the database backend, `audit.backends`). Refused attempts go through `audit_refusal_record`,
appended in their own transaction.

Also the two other writes the audit app makes: signed checkpoints (`audit_checkpoint_create`, run
periodically by `audit.tasks.audit_checkpoint`) and the explicit, audited purge (`audit_purge`).
"""

import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.actors import Actor

from . import context
from .models import AuditChainHead, AuditCheckpoint, AuditEvent

logger = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64

# The fields covered by the hash, in a fixed order. Adding one changes every later hash: don't.
HASHED_FIELDS = (
    "seq", "occurred_at", "action", "outcome", "actor_id", "actor_label", "target_type", "target_id",
    "target_label", "principal_id", "principal_label", "role_id", "role_label", "scope_path",
    "justification", "ticket", "message", "before", "after", "correlation_id", "client_ip",
)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # "%Y-%m-%dT%H:%M:%S.%fZ" in UTC, as an f-string (strftime costs twice as much, per row of a sweep).
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:{value.minute:02d}:"
                f"{value.second:02d}.{value.microsecond:06d}Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# What `json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)` does,
# with the encoder built once (a sweep hashes 100,000 events).
_encode_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def canonical_bytes(data: dict) -> bytes:
    """Sorted-key compact JSON of a {field: canonical value} dict (shared with the streaming verifier)."""
    return _encode_canonical(data).encode()


_PLAIN_TYPES = frozenset({str, int, bool, type(None), dict, list})
_canonical_datetime = functools.lru_cache(maxsize=64)(_canonical_value)  # a batch shares one occurred_at


def _canonical(values: dict) -> bytes:
    data = {}
    for name in HASHED_FIELDS:
        value = values[name]
        if type(value) not in _PLAIN_TYPES:
            value = _canonical_datetime(value) if type(value) is datetime else _canonical_value(value)
        data[name] = value
    return canonical_bytes(data)


_SEQ_KEY = b'"seq":0,'


def canonical_around_seq(values: dict) -> tuple[bytes, bytes]:
    """The canonical bytes of an event but for its seq: (head, tail) such that
    `head + str(seq).encode() + tail == _canonical(values with that seq)`, so that the database can
    seal the event once it knows the seq (`audit.chain`). The top-level "seq" key is the last bare
    `"seq":0,` in the text: keys sort, the only keys before it that can hold objects are "after" and
    "before" (which may nest a "seq" of their own), and a quote inside a string value is escaped."""
    head, key, tail = _canonical({**values, "seq": 0}).rpartition(_SEQ_KEY)
    if not key:
        raise ValueError("canonical form without a seq")
    return head + b'"seq":', b"," + tail


def _hash(prev_hash: str, canonical: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def audit_event_canonical(*, event: AuditEvent) -> bytes:
    """The bytes that are hashed: sorted-key JSON of `HASHED_FIELDS`."""
    return _canonical({name: getattr(event, name) for name in HASHED_FIELDS})


def audit_event_hash(*, event: AuditEvent, prev_hash: str) -> str:
    return _hash(prev_hash, audit_event_canonical(event=event))


def _json_number(text: str) -> float | int:
    """PostgreSQL's jsonb prints an integral float in exponent form (1e+20) as digits, which read back
    as an int: store it as that int, so the hash recomputed from a read matches."""
    number = float(text)
    return int(number) if number.is_integer() and "e" in text.lower() else number


_FLAT_TYPES = (str, int, bool, type(None))


def _json_safe(value: Any) -> Any:
    """Before/after snapshots are stored as JSON; normalise datetimes and UUIDs the same way the hash does,
    and numbers the way jsonb gives them back."""
    if value is None:
        return None
    if type(value) is dict:
        # Fast path for flat snapshots of strings, numbers and datetimes (the sweep's 100,000): the
        # same result as the round trip below, without it.
        flat = {}
        for k, v in value.items():
            if type(k) is not str:
                break
            if type(v) is datetime:
                v = _canonical_value(v)
            elif type(v) not in _FLAT_TYPES:
                break
            flat[k] = v
        else:
            return flat
    return json.loads(
        json.dumps(value, default=lambda v: _canonical_value(v) if isinstance(v, datetime | uuid.UUID) else str(v)),
        parse_float=_json_number,
    )


def _normalised_ip(value: str | None) -> str | None:
    """The form the database gives back (PostgreSQL's inet prints IPv6 compressed, lower case), so
    that the hash recomputed from a read matches."""
    if not value:
        return None
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return None


def _label(obj: Any) -> str:
    return "" if obj is None else str(obj)[:200]


def audit_event_record(
    *,
    action: str,
    actor: Any = None,
    outcome: str = AuditEvent.Outcome.SUCCESS,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    principal: Any = None,
    role: Any = None,
    scope: Any = None,
    justification: str = "",
    ticket: str = "",
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
    correlation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Record one event of the current transaction. It is appended to the chain when the transaction
    commits (at once outside a transaction), after all the transaction's other work, so the chain head
    is locked only for the append; it is dropped if the transaction (or the savepoint it was recorded
    in) rolls back. The returned event gets its `seq`, `hash` and `pk` when it is appended."""
    return _record(dict(locals()), after_transaction=False)


def audit_refusal_record(
    *,
    action: str,
    actor: Any = None,
    outcome: str = AuditEvent.Outcome.DENIED,
    target: Any = None,
    target_type: str = "",
    target_id: str = "",
    target_label: str = "",
    principal: Any = None,
    role: Any = None,
    scope: Any = None,
    justification: str = "",
    ticket: str = "",
    message: str = "",
    before: dict | None = None,
    after: dict | None = None,
    correlation_id: uuid.UUID | None = None,
    occurred_at: datetime | None = None,
) -> AuditEvent:
    """Record a refused attempt in its own transaction: appended once the caller's transaction has
    ended, whether it committed or rolled back (at once outside a transaction), so a refusal is never
    lost with the change it refused."""
    return _record(dict(locals()), after_transaction=True)


def _record(fields: dict, *, after_transaction: bool) -> AuditEvent:
    from .backends.mixin import PendingEvents

    row = _event_row(ctx=context.current(), **{**fields, "occurred_at": fields["occurred_at"] or timezone.now()})
    event = AuditEvent(**row)
    pending = PendingEvents(rows=[row], events=[event])
    if after_transaction:
        connection.audit_defer_after_transaction(pending)
    else:
        connection.audit_defer(pending)
    return event


def _event_row(
    *, ctx: context.AuditContext, occurred_at: datetime, action: str, actor: Any = None,
    outcome: str = AuditEvent.Outcome.SUCCESS, target: Any = None, target_type: str = "", target_id: str = "",
    target_label: str = "", principal: Any = None, principal_id: int | None = None, principal_label: str = "",
    role: Any = None, role_id: int | None = None, role_label: str = "", scope: Any = None, justification: str = "",
    ticket: str = "", message: str = "", before: dict | None = None, after: dict | None = None,
    correlation_id: uuid.UUID | None = None,
) -> dict:
    """The one place an event's columns are filled in, for single and batch appends alike (two copies
    could drift, and then one path's events would fail verification); `_seal` adds seq and hash at the
    append. Objects (`target`, `principal`, `role`) give their id and label; set-based jobs that have
    no models pass the ids and labels instead."""
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or str(target.pk)
        target_label = target_label or _label(target)
    if principal is not None:
        principal_id, principal_label = principal.pk, _label(principal)
    if role is not None:
        role_id, role_label = role.pk, _label(role)
    return {
        "seq": None,
        "occurred_at": occurred_at,
        "action": action,
        "outcome": outcome,
        "actor_id": actor.audit_actor_id if isinstance(actor, Actor) else getattr(actor, "pk", None),
        "actor_label": (actor.label if isinstance(actor, Actor) else _label(actor)) if actor is not None else "system",
        "target_type": target_type,
        "target_id": target_id,
        "target_label": target_label[:300],
        "principal_id": principal_id,
        "principal_label": principal_label[:200],
        "role_id": role_id,
        "role_label": role_label[:200],
        "scope_path": (scope if isinstance(scope, str) else getattr(scope, "path", "")) or "",
        "justification": justification or "",
        "ticket": ticket or "",
        "message": message or "",
        "before": _json_safe(before),
        "after": _json_safe(after),
        "correlation_id": correlation_id or ctx.correlation_id,
        "client_ip": _normalised_ip(ctx.client_ip),
        "prev_hash": "",
        "hash": "",
    }


def _seal(row: dict, *, seq: int, prev_hash: str) -> str:
    """Give an event row its place in the chain (called by `audit.chain.append`, under the head lock).
    Returns its hash, the next event's `prev_hash`."""
    row["seq"], row["prev_hash"] = seq, prev_hash
    row["hash"] = _hash(prev_hash, _canonical(row))
    return row["hash"]


def _lock_head() -> AuditChainHead:
    """Append this transaction's events so far and lock the chain head until the transaction ends,
    for the writers that sign the head (checkpoints, purge)."""
    from . import chain

    connection.audit_flush()
    last_seq, last_hash = chain.lock_head(connection=connection)
    return AuditChainHead(pk=1, last_seq=last_seq, last_hash=last_hash)


def audit_in_transaction() -> bool:
    return connection.in_atomic_block


# --- Signed checkpoints ---------------------------------------------------------------------------

class AuditIntegrityError(Exception):
    """A purge or checkpoint was refused (bad arguments, or the log is not in a state to do it)."""


def signing_key_id(key: str) -> str:
    """A public fingerprint of a signing key, stored with each checkpoint so keys can be rotated."""
    return hashlib.sha256(b"pim-audit-key-id\n" + key.encode()).hexdigest()[:16]


def signing_keys() -> dict[str, str]:
    """key id → key: the current key first, then the fallbacks (older keys, verify only)."""
    keys = [settings.PIM_AUDIT_SIGNING_KEY, *getattr(settings, "PIM_AUDIT_SIGNING_KEY_FALLBACKS", [])]
    return {signing_key_id(key): key for key in keys if key}


def checkpoint_payload(*, kind: str, last_seq: int, last_hash: str, prev_signature: str, created_at: datetime) -> bytes:
    return "\n".join(
        ["pim-audit-checkpoint-v1", kind, str(last_seq), last_hash, prev_signature, _canonical_value(created_at)]
    ).encode()


def checkpoint_signature(*, key: str, kind: str, last_seq: int, last_hash: str, prev_signature: str,
                         created_at: datetime) -> str:
    payload = checkpoint_payload(kind=kind, last_seq=last_seq, last_hash=last_hash, prev_signature=prev_signature,
                                 created_at=created_at)
    return hmac.new(key.encode(), payload, hashlib.sha256).hexdigest()


def checkpoint_signature_valid(*, checkpoint: AuditCheckpoint, keys: dict[str, str] | None = None) -> bool:
    key = (keys if keys is not None else signing_keys()).get(checkpoint.key_id)
    if key is None:
        return False
    expected = checkpoint_signature(key=key, kind=checkpoint.kind, last_seq=checkpoint.last_seq,
                                    last_hash=checkpoint.last_hash, prev_signature=checkpoint.prev_signature,
                                    created_at=checkpoint.created_at)
    return hmac.compare_digest(expected, checkpoint.signature)


def _checkpoint_insert(*, kind: str, last_seq: int, last_hash: str, now: datetime) -> AuditCheckpoint:
    """Sign and insert one checkpoint. The caller holds the chain head lock (checkpoints are ordered
    by id and each signs the previous one's signature)."""
    previous = AuditCheckpoint.objects.order_by("-id").only("signature").first()
    prev_signature = previous.signature if previous else ""
    key = settings.PIM_AUDIT_SIGNING_KEY
    created_at = now
    checkpoint = AuditCheckpoint(
        kind=kind, last_seq=last_seq, last_hash=last_hash, prev_signature=prev_signature,
        key_id=signing_key_id(key), created_at=created_at,
        signature=checkpoint_signature(key=key, kind=kind, last_seq=last_seq, last_hash=last_hash,
                                       prev_signature=prev_signature, created_at=created_at),
    )
    checkpoint.save()
    # Also to the log stream: keep these lines elsewhere and even a rewrite of the checkpoints is caught.
    logger.info("audit checkpoint %s kind=%s last_seq=%s last_hash=%s signature=%s", checkpoint.pk, kind, last_seq,
                last_hash, checkpoint.signature)
    # And to the external witness, once committed and outside the head lock; a failing sink never rolls
    # back the checkpoint (audit_witness_write logs it and the next run retries).
    transaction.on_commit(_witness_write, robust=True)
    return checkpoint


def _witness_write() -> None:
    from .witness import audit_witness_write

    audit_witness_write()


def audit_checkpoint_create(*, now: datetime | None = None, force: bool = False) -> AuditCheckpoint | None:
    """Sign the chain's current head, then record the checkpoint in the chain itself (action
    "audit.checkpoint"), so the chain and its checkpoints vouch for each other.

    Idempotent when nothing happened since the last checkpoint (the newest event is that
    checkpoint's own record): returns None unless `force`."""
    now = now or timezone.now()
    with transaction.atomic():
        head = _lock_head()
        if not force and head.last_seq:
            newest = AuditEvent.objects.filter(seq=head.last_seq).values_list("action", flat=True).first()
            latest = AuditCheckpoint.objects.order_by("-id").values_list("last_seq", flat=True).first()
            if newest == "audit.checkpoint" and latest == head.last_seq - 1:
                return None
        checkpoint = _checkpoint_insert(kind=AuditCheckpoint.Kind.PERIODIC, last_seq=head.last_seq,
                                        last_hash=head.last_hash, now=now)
        audit_event_record(action="audit.checkpoint", target=checkpoint, occurred_at=now,
                           after={"checkpoint": checkpoint.pk, "last_seq": checkpoint.last_seq,
                                  "last_hash": checkpoint.last_hash, "signature": checkpoint.signature})
    return checkpoint


# --- Purge ----------------------------------------------------------------------------------------

def audit_purge(*, before: datetime, actor: Any = None, reason: str = "", now: datetime | None = None) -> dict:
    """Delete the oldest events, those before `before`, as one contiguous prefix of the chain.

    Retention is indefinite by default; this is the one explicit way to shorten the log. It stops at
    the first event that is not older than `before` (so the remaining chain stays contiguous), leaves
    a signed PURGE checkpoint anchoring the first remaining event to the hash of the last deleted one,
    records an "audit.purge" event and signs a new checkpoint, so `audit_verify` passes afterwards
    and shows where the log now starts."""
    now = now or timezone.now()
    if timezone.is_naive(before):
        raise AuditIntegrityError("The purge date must be timezone-aware.")
    if before > now:
        raise AuditIntegrityError("Cannot purge events from the future.")
    with transaction.atomic():
        head = _lock_head()
        first = AuditEvent.objects.order_by("seq").values_list("seq", flat=True).first()
        keep_from = (AuditEvent.objects.filter(occurred_at__gte=before).order_by("seq")
                     .values_list("seq", flat=True).first())
        last_deleted = (keep_from - 1) if keep_from is not None else head.last_seq
        if first is None or last_deleted < first:
            deleted, anchor = 0, None
        else:
            anchor_hash = AuditEvent.objects.filter(seq=last_deleted).values_list("hash", flat=True).first()
            if anchor_hash is None:
                raise AuditIntegrityError(f"Event #{last_deleted} is missing: run audit_verify before purging.")
            # The anchor first: on SQLite the append-only trigger lets a DELETE through only for events
            # a purge anchor covers.
            anchor = _checkpoint_insert(kind=AuditCheckpoint.Kind.PURGE, last_seq=last_deleted,
                                        last_hash=anchor_hash, now=now)
            table = connection.ops.quote_name(AuditEvent._meta.db_table)
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    # The append-only trigger lets a DELETE through only with this transaction-local flag.
                    cursor.execute("SET LOCAL pim.audit_purge = 'on'")
                cursor.execute(f"DELETE FROM {table} WHERE seq <= %s", [last_deleted])  # noqa: S608
                deleted = cursor.rowcount
                if connection.vendor == "postgresql":
                    cursor.execute("SET LOCAL pim.audit_purge = 'off'")
        summary = {"before": _canonical_value(before), "deleted": deleted,
                   "first_seq": first if deleted else None, "last_seq": last_deleted if deleted else None,
                   "anchor_checkpoint": anchor.pk if anchor else None}
        audit_event_record(action="audit.purge", actor=actor, message=reason or "", after=summary, occurred_at=now,
                           target=anchor)
        audit_checkpoint_create(now=now, force=True)
    return summary


def audit_export_record(*, actor: Any, filters: dict, mine: bool = False, bom: bool = False) -> AuditEvent:
    """The CSV export is itself audited, with the filters it was run with (and `bom` when the file
    starts with a byte order mark, for Excel)."""
    summary = ", ".join(f"{key}={value}" for key, value in sorted(filters.items())) or "no filters"
    encoding = " (UTF-8 with BOM)" if bom else ""
    return audit_event_record(action="audit.export", actor=actor, principal=getattr(actor, "principal", None),
                              message=f"CSV export{encoding} of {'own events' if mine else 'the audit log'}: {summary}",
                              after={"filters": filters, "mine": mine, **({"bom": True} if bom else {})})


def audit_events_record_many(events: list[dict]) -> int:
    """Record many events at once, for set-based jobs (the expiry sweep). Each dict holds the keyword
    arguments of `audit_event_record`, or ids and labels instead of objects (see `_event_row`). They
    are built here, by the same `_event_row` as single events, and appended when the transaction
    commits, with consecutive `seq` numbers, in one COPY (PostgreSQL) or bulk INSERTs. Returns how
    many were recorded."""
    if not events:
        return 0
    from .backends.mixin import PendingEvents

    ctx, now = context.current(), timezone.now()
    rows = [_event_row(ctx=ctx, **{**data, "occurred_at": data.get("occurred_at") or now}) for data in events]
    connection.audit_defer(PendingEvents(rows=rows))
    return len(rows)
