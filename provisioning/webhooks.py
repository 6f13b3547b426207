"""Signed webhooks: one outbox row (channel "webhook") per endpoint per event.

Each POST carries the JSON body fixed when the event happened and four headers:

    X-PIM-Event:      the event name, e.g. assignment.activated
    X-PIM-Delivery:   the delivery id (a UUID; the same on every retry of this delivery)
    X-PIM-Timestamp:  Unix seconds of this attempt
    X-PIM-Signature:  sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the endpoint secret>

A receiver verifies it like `webhook_signature_verify` below: recompute the HMAC over the timestamp
header, a dot and the raw body bytes, compare in constant time, refuse timestamps older than five
minutes (replays), and use X-PIM-Delivery to ignore a delivery it has already processed (a retry
after a lost response).

2xx is delivered; 408, 429, 5xx, timeouts and connection errors are retried by the outbox relay with
backoff; any other status (4xx, redirects, which are not followed) fails the delivery at once.
"""

import hashlib
import hmac
import json
import logging
import time

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from notifications.models import OutboxMessage
from notifications.outbox import PermanentDeliveryError, outbox_enqueue, outbox_initial_state, outbox_kick_on_commit

from .crypto import UnsealError, unseal
from .models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

CHANNEL = "webhook"
TIMEOUT = None  # default: 10 s, 5 s to connect (an httpx.Timeout; httpx is imported on first delivery)
SIGNATURE_TOLERANCE_SECONDS = 300
RETRYABLE_STATUSES = {408, 429}
USER_AGENT = "PIM-portal-webhooks/1"


class RetryableDeliveryError(Exception):
    """The receiver may accept it later (5xx, 408, 429, timeout, connection refused)."""


# --- signing ------------------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-PIM-Signature header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_signature_verify(secret: str, timestamp: str, body: bytes, header: str, *,
                             tolerance: int = SIGNATURE_TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """What a receiver does: True when `header` (X-PIM-Signature) signs `timestamp` (X-PIM-Timestamp)
    and the raw `body` with `secret`, and the timestamp is within `tolerance` seconds of now.
    Several comma-separated `sha256=` values are accepted (any one may match)."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - sent_at) > tolerance:
        return False
    expected = webhook_signature(secret, str(sent_at), body)
    candidates = [part.strip() for part in (header or "").split(",")]
    return any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in candidates if candidate)


# --- the event body -------------------------------------------------------------------------------


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
    """What identifies one occurrence of an event (an endpoint gets it once)."""
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


def webhooks_enqueue(*, name: str, endpoints: list[WebhookEndpoint], assignment=None, request=None, actor=None,
                     before=None, data: dict | None = None, key: str | None = None) -> int:
    """In the caller's transaction: one delivery and one outbox row per endpoint subscribed to `name`."""
    targets = [endpoint for endpoint in endpoints if name in (endpoint.event_types or [])]
    if not targets:
        return 0
    now = timezone.now()
    key = event_key(name, assignment=assignment, request=request, key=key)
    body = event_body(name, occurred_at=now, assignment=assignment, request=request, actor=actor, before=before,
                      extra=data)
    correlation_id = getattr(request, "pk", None)
    for endpoint in targets:
        delivery, created = WebhookDelivery.objects.get_or_create(
            endpoint=endpoint, event_key=key[:200],
            defaults={"event": name, "body": body, "created_at": now, "correlation_id": correlation_id},
        )
        if not created:
            continue
        message = outbox_enqueue(channel=CHANNEL, dedupe_key=f"webhook:{endpoint.pk}:{key}",
                                 payload={"delivery": str(delivery.pk)}, correlation_id=correlation_id)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(outbox_message=message)
    return len(targets)


def webhooks_enqueue_many(*, name: str, endpoints: list[WebhookEndpoint], assignments) -> int:
    """`webhooks_enqueue` for the same event of many assignments (a set-based job: a directory load, a
    sweep), in the caller's transaction: the occurrences the endpoints already have are read in one
    query, then the deliveries and their outbox rows are written with two bulk inserts (no read, no
    savepoint per row). A concurrent writer of the same occurrence makes the insert fail and the
    caller's transaction (or savepoint) roll back, never a second delivery."""
    targets = [endpoint for endpoint in endpoints if name in (endpoint.event_types or [])]
    assignments = list(assignments)
    if not targets or not assignments:
        return 0
    now = timezone.now()
    keyed = [(assignment, event_key(name, assignment=assignment)) for assignment in assignments]
    existing = set(WebhookDelivery.objects.filter(endpoint__in=targets, event_key__in=[k[:200] for _, k in keyed])
                   .values_list("endpoint_id", "event_key"))
    deliveries, messages = [], []
    for assignment, key in keyed:
        body = None
        for endpoint in targets:
            if (endpoint.pk, key[:200]) in existing:
                continue
            body = body or event_body(name, occurred_at=now, assignment=assignment)
            delivery = WebhookDelivery(endpoint=endpoint, event_key=key[:200], event=name, body=body, created_at=now)
            deliveries.append(delivery)
            messages.append(OutboxMessage(channel=CHANNEL, dedupe_key=f"webhook:{endpoint.pk}:{key}"[:255],
                                          payload={"delivery": str(delivery.pk)}, available_at=now, created_at=now,
                                          max_attempts=8, **outbox_initial_state(now)))
    if not deliveries:
        return 0
    OutboxMessage.objects.bulk_create(messages, batch_size=2000)
    for delivery, message in zip(deliveries, messages, strict=True):
        delivery.outbox_message_id = message.pk
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=2000)
    if any(message.status == OutboxMessage.Status.PENDING for message in messages):
        outbox_kick_on_commit()
    return len(deliveries)


# --- delivery -----------------------------------------------------------------------------------------


def _record(delivery_id, message: OutboxMessage, **fields) -> None:
    WebhookDelivery.objects.filter(pk=delivery_id).update(attempts=message.attempts, last_attempt_at=timezone.now(),
                                                          **fields)


def webhook_post(*, url: str, secret: str, event: str, delivery_id: str, body: bytes):
    import httpx

    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-PIM-Event": event,
        "X-PIM-Delivery": delivery_id,
        "X-PIM-Timestamp": timestamp,
        "X-PIM-Signature": webhook_signature(secret, timestamp, body),
    }
    timeout = TIMEOUT or httpx.Timeout(10.0, connect=5.0)
    from .outbound import PinnedTransport

    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, transport=PinnedTransport()) as client:
        return client.post(url, content=body, headers=headers)


def deliver_webhook(message: OutboxMessage) -> None:
    """The outbox deliverer of channel "webhook". Raises to retry, PermanentDeliveryError to give up."""
    import httpx

    delivery = (WebhookDelivery.objects.select_related("endpoint")
                .filter(pk=message.payload.get("delivery")).first())
    if delivery is None:
        raise PermanentDeliveryError("The delivery no longer exists (endpoint deleted).")
    last = message.attempts >= message.max_attempts
    endpoint = delivery.endpoint
    code = None
    try:
        if not endpoint.enabled:
            raise PermanentDeliveryError("The endpoint is disabled.")
        try:
            secret = unseal(endpoint.secret_sealed)
        except UnsealError as error:
            raise PermanentDeliveryError(str(error)) from error
        try:
            response = webhook_post(url=endpoint.url, secret=secret, event=delivery.event,
                                    delivery_id=str(delivery.pk), body=delivery.body.encode())
        except httpx.TimeoutException as error:
            raise RetryableDeliveryError(f"Timed out: {error or type(error).__name__}") from error
        except httpx.HTTPError as error:
            raise RetryableDeliveryError(f"Could not connect: {error}") from error
        code = response.status_code
        if 200 <= code < 300:
            _record(delivery.pk, message, status=WebhookDelivery.Status.DELIVERED, last_status_code=code,
                    last_error="", delivered_at=timezone.now())
            return
        reason = f"HTTP {code} {response.reason_phrase}".strip()
        if code >= 500 or code in RETRYABLE_STATUSES:
            raise RetryableDeliveryError(reason)
        if 300 <= code < 400:
            raise PermanentDeliveryError(f"{reason}: redirects are not followed; register the final URL.")
        raise PermanentDeliveryError(f"{reason}: the receiver refused the delivery.")
    except PermanentDeliveryError as error:
        _record(delivery.pk, message, status=WebhookDelivery.Status.FAILED, last_error=str(error)[:2000],
                last_status_code=code)
        raise
    except Exception as error:
        _record(delivery.pk, message,
                status=WebhookDelivery.Status.FAILED if last else WebhookDelivery.Status.PENDING,
                last_error=(str(error) or type(error).__name__)[:2000], last_status_code=code)
        raise
