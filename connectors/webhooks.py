"""Webhook targets' effects: one event delivery (an `Effect` of action "event") and one outbox row on
channel "connector" per subscribed, enabled webhook target per event, written in the transaction of the
change that caused it, by a domain-event subscriber. The relay delivers them with the other effects
(`connectors.effects`); the signed format is `connectors.kinds.webhook`.

Each occurrence of an event has a key (`event_key`): a target gets it once, however often it is
announced. The body is fixed when the event happens (who, what, when); each attempt signs it anew.
"""

import json
import logging
import uuid

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from core import domain_events
from notifications.models import OutboxMessage
from notifications.outbox import outbox_enqueue, outbox_initial_state, outbox_kick_on_commit

from .effects import CHANNEL, EVENT_MAX_ATTEMPTS
from .models import Effect, Target

logger = logging.getLogger(__name__)

KIND = "webhook"


def _principal(principal) -> dict | None:
    if principal is None:
        return None
    return {"object_id": str(principal.object_id), "kind": principal.kind, "display_name": principal.display_name,
            "username": principal.user.username if principal.user_id else None}


def _assignment(assignment) -> dict | None:
    if assignment is None:
        return None
    return {
        "id": assignment.pk,
        "principal": _principal(assignment.principal),
        "role": {"slug": assignment.role.slug, "name": assignment.role.name},
        "scope": assignment.scope.path,
        "kind": assignment.kind,
        "status": assignment.status,
        "start_at": assignment.start_at,
        "end_at": assignment.end_at,
        "activated_from": assignment.activated_from_id,
        "origin": assignment.origin,
        "end_reason": assignment.end_reason or None,
    }


def _request(request) -> dict | None:
    if request is None:
        return None
    return {"id": str(request.pk), "action": request.action, "status": request.status,
            "principal": _principal(request.principal), "role": request.role.slug, "scope": request.scope.path,
            "ticket": f"{request.ticket_system} {request.ticket_number}".strip() or None}


def event_key(name: str, *, assignment=None, request=None, key: str | None = None) -> str:
    """What identifies one occurrence of an event (a target gets it once)."""
    parts = [name]
    if key:
        parts.append(key)
    if assignment is not None:
        parts.append(f"a{assignment.pk}")
    if request is not None:
        parts.append(f"r{request.pk}")
    return ":".join(parts)


def event_body(name: str, *, occurred_at, assignment=None, request=None, actor=None, before=None,
               extra: dict | None = None) -> str:
    if extra is not None:
        # Alerts, reviews, policy edits, sign-ins: their own JSON, with who did it.
        data = {**extra, "actor": getattr(actor, "username", None) if actor is not None else extra.get("actor")}
    else:
        data = {"assignment": _assignment(assignment), "request": _request(request),
                "actor": getattr(actor, "username", None)}
    if before is not None:
        data["before"] = before
    body = {"event": name, "occurred_at": occurred_at, "data": data}
    return json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"))


def webhook_targets_enabled() -> list[Target]:
    return list(Target.objects.filter(kind=KIND, enabled=True))


def webhook_events_enqueue(*, name: str, targets: list[Target], assignment=None, request=None, actor=None,
                           before=None, data: dict | None = None, key: str | None = None) -> int:
    """In the caller's transaction: one event delivery and one outbox row per target subscribed to `name`."""
    subscribed = [target for target in targets if name in (target.config or {}).get("event_types", [])]
    if not subscribed:
        return 0
    now = timezone.now()
    key = event_key(name, assignment=assignment, request=request, key=key)[:200]
    body = event_body(name, occurred_at=now, assignment=assignment, request=request, actor=actor, before=before,
                      extra=data)
    correlation_id = getattr(request, "pk", None)
    for target in subscribed:
        effect, created = Effect.objects.get_or_create(
            target=target, action=Effect.Action.EVENT, transition=key,
            defaults={"event": name, "body": body, "delivery_id": uuid.uuid4(), "request": request,
                      "queued_at": now, "not_before": now})
        if not created:
            continue
        message = outbox_enqueue(channel=CHANNEL, dedupe_key=f"connector:{effect.pk}", payload={"effect": effect.pk},
                                 correlation_id=correlation_id, max_attempts=EVENT_MAX_ATTEMPTS)
        Effect.objects.filter(pk=effect.pk).update(outbox_message=message)
    return len(subscribed)


# --- the domain-event subscriber ------------------------------------------------------------------------


def _targets_or_none(name: str) -> list[Target] | None:
    """The enabled webhook targets (the subscribers filter them by `name` when they write), or None when
    they could not be read: logged, and the caller's change goes on without deliveries."""
    try:
        return webhook_targets_enabled()
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Webhooks: could not check for webhook targets on %s", name)
        return None


def webhooks_on_domain_event(*, name: str, assignment=None, request=None, actor=None, before=None,
                             data: dict | None = None, key: str | None = None, **_: object) -> None:
    """Runs inside every service transaction that emits an event. One query when no webhook target is
    configured (none inside a sweep's batch after the first event); never raises (a failure is logged and
    rolled back to a savepoint, the caller's change goes on)."""
    memo = domain_events.batch_memo()
    if memo is not None and "webhooks" in memo and not memo["webhooks"]:
        return
    targets = _targets_or_none(name)
    if memo is not None and targets is not None:
        memo["webhooks"] = bool(targets)
    if not targets:
        return
    try:
        with transaction.atomic():
            webhook_events_enqueue(name=name, targets=targets, assignment=assignment, request=request, actor=actor,
                                   before=before, data=data, key=key)
    except Exception:  # noqa: BLE001
        logger.exception("Webhooks: could not queue deliveries for %s", name)


def webhooks_on_domain_events_many(*, name: str, batch) -> None:
    """The set-based form (`domain_events.emit_many`: the expiry sweep, a directory load): one query for
    the whole batch when no webhook target takes `name` (the usual case); otherwise the batch's
    deliveries are written at once (`webhook_events_enqueue_many`), in one savepoint for the batch, not
    one per row. Never raises: a failure is logged and the batch's deliveries rolled back."""
    targets = [target for target in _targets_or_none(name) or []
               if name in (target.config or {}).get("event_types", [])]
    if not targets:
        return
    try:
        with transaction.atomic():
            webhook_events_enqueue_many(name=name, targets=targets, assignments=batch.models())
    except Exception:  # noqa: BLE001
        logger.exception("Webhooks: could not queue deliveries for %s (%d rows)", name, len(batch.rows))


def webhook_events_enqueue_many(*, name: str, targets: list[Target], assignments) -> int:
    """`webhook_events_enqueue` for the same event of many assignments, in the caller's transaction: the
    occurrences the targets already have are read in one query, then the deliveries and their outbox rows
    are written in bulk (no read and no savepoint per row). A concurrent writer of the same occurrence
    makes the insert fail and the caller's savepoint roll back, never a second delivery."""
    targets = [target for target in targets if name in (target.config or {}).get("event_types", [])]
    assignments = list(assignments)
    if not targets or not assignments:
        return 0
    now = timezone.now()
    keyed = [(assignment, event_key(name, assignment=assignment)[:200]) for assignment in assignments]
    existing = set(Effect.objects.filter(target__in=targets, action=Effect.Action.EVENT,
                                         transition__in=[key for _, key in keyed])
                   .values_list("target_id", "transition"))
    effects = []
    for assignment, key in keyed:
        body = None
        for target in targets:
            if (target.pk, key) in existing:
                continue
            body = body or event_body(name, occurred_at=now, assignment=assignment)
            effects.append(Effect(target=target, action=Effect.Action.EVENT, transition=key, event=name, body=body,
                                  delivery_id=uuid.uuid4(), queued_at=now, not_before=now))
    if not effects:
        return 0
    Effect.objects.bulk_create(effects, batch_size=2000)
    messages = [OutboxMessage(channel=CHANNEL, dedupe_key=f"connector:{effect.pk}", payload={"effect": effect.pk},
                              available_at=now, created_at=now, max_attempts=EVENT_MAX_ATTEMPTS,
                              **outbox_initial_state(now)) for effect in effects]  # new effects: new keys
    OutboxMessage.objects.bulk_create(messages, batch_size=2000)
    for effect, message in zip(effects, messages, strict=True):
        effect.outbox_message_id = message.pk
    Effect.objects.bulk_update(effects, ["outbox_message"], batch_size=2000)
    if any(message.status == OutboxMessage.Status.PENDING for message in messages):
        outbox_kick_on_commit()
    return len(effects)
