"""The audit write path. Call `audit_event_record` inside the transaction of the change it records."""

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from . import context
from .models import AuditChainHead, AuditEvent

GENESIS_HASH = "0" * 64

# The fields covered by the hash, in a fixed order. Adding one changes every later hash: don't.
HASHED_FIELDS = (
    "seq", "occurred_at", "action", "outcome", "actor_id", "actor_label", "target_type", "target_id",
    "target_label", "principal_id", "principal_label", "role_id", "role_label", "scope_path",
    "justification", "ticket", "message", "before", "after", "correlation_id", "client_ip",
)


def _canonical_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def audit_event_canonical(*, event: AuditEvent) -> bytes:
    """The bytes that are hashed: sorted-key JSON of `HASHED_FIELDS`."""
    data = {name: _canonical_value(getattr(event, name)) for name in HASHED_FIELDS}
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def audit_event_hash(*, event: AuditEvent, prev_hash: str) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + audit_event_canonical(event=event)).hexdigest()


def _json_safe(value: Any) -> Any:
    """Before/after snapshots are stored as JSON; normalise datetimes and UUIDs the same way the hash does."""
    if value is None:
        return None
    return json.loads(
        json.dumps(value, default=lambda v: _canonical_value(v) if isinstance(v, datetime | uuid.UUID) else str(v))
    )


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
    """Append one event to the chain. Takes the chain head's row lock, so concurrent writers queue
    behind each other for the rest of their transaction and the chain stays unbroken."""
    ctx = context.current()
    with transaction.atomic():
        head, _ = AuditChainHead.objects.select_for_update().get_or_create(pk=1)
        if target is not None:
            target_type = target_type or target._meta.label_lower
            target_id = target_id or str(target.pk)
            target_label = target_label or _label(target)
        scope_path = scope if isinstance(scope, str) else getattr(scope, "path", "")
        event = AuditEvent(
            seq=head.last_seq + 1,
            occurred_at=occurred_at or timezone.now(),
            action=action,
            outcome=outcome,
            actor_id=getattr(actor, "pk", None),
            actor_label=_label(actor) if actor is not None else "system",
            target_type=target_type,
            target_id=target_id,
            target_label=target_label[:300],
            principal_id=getattr(principal, "pk", None),
            principal_label=_label(principal),
            role_id=getattr(role, "pk", None),
            role_label=_label(role),
            scope_path=scope_path or "",
            justification=justification or "",
            ticket=ticket or "",
            message=message or "",
            before=_json_safe(before),
            after=_json_safe(after),
            correlation_id=correlation_id or ctx.correlation_id,
            client_ip=ctx.client_ip,
            prev_hash=head.last_hash,
        )
        # Round to microseconds as the database stores them, so the hash can be recomputed from a read.
        event.hash = audit_event_hash(event=event, prev_hash=head.last_hash)
        event.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(last_seq=event.seq, last_hash=event.hash)
    return event


def audit_in_transaction() -> bool:
    return connection.in_atomic_block
