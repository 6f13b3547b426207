"""Enqueue side effects in the caller's transaction; deliver them with bounded retries and backoff.

Delivery is in batches: a relay claims up to `limit` due rows in one statement, actionable rows first
(`OutboxMessage.Priority`), and hands a channel that registered a batch deliverer all of its rows at
once (the email channel sends them over one SMTP connection), then records the outcomes with one
UPDATE for the delivered rows. A channel without one gets its rows one by one, as before.

Contract for every channel:
- `outbox_enqueue(channel=..., dedupe_key=..., payload=...)` inside the transaction of the change.
  The same (channel, dedupe_key) twice is one row: choose keys that name the effect
  ("request:<id>:approver:<email>", "scim:<app>:<assignment>:add").
- `register_channel(name, deliver)` once at start-up (AppConfig.ready). `deliver(message)` performs
  the effect; it raises to ask for a retry, `PermanentDeliveryError` to give up at once. It must be
  idempotent: a worker can die after the effect and before the row is marked delivered.
- optionally `register_channel(name, deliver, deliver_batch=...)`: `deliver_batch(messages)` performs
  the effects of several rows and returns, for each, None (delivered) or the exception it failed with
  (same meaning as raised by `deliver`). Same idempotence rule.
"""

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from .models import OutboxMessage

logger = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS = 15
BACKOFF_MAX_SECONDS = 3600

_channels: dict[str, Callable[[OutboxMessage], None]] = {}
_batch_channels: dict[str, Callable[[list[OutboxMessage]], list[BaseException | None]]] = {}


class PermanentDeliveryError(Exception):
    """The effect can never succeed (bad address, 4xx from the peer): stop retrying."""


_suppressed: ContextVar[str | None] = ContextVar("outbox_suppressed", default=None)


@contextmanager
def outbox_suppressed(reason: str) -> Iterator[None]:
    """Side effects queued inside are written as rows already delivered, never performed.

    For data that describes a past nobody should be told about now (the demo organisation and its
    month of history): the rows and the audit events stay, nothing is sent, and each row says why
    (`last_error` "Not sent: <reason>")."""
    token = _suppressed.set(reason)
    try:
        yield
    finally:
        _suppressed.reset(token)


def outbox_initial_state(now: datetime) -> dict:
    """The status fields of a new row: pending, or delivered-unsent inside `outbox_suppressed`."""
    reason = _suppressed.get()
    if reason is None:
        return {}
    return {"status": OutboxMessage.Status.DELIVERED, "delivered_at": now, "last_error": f"Not sent: {reason}"[:2000]}


def register_channel(name: str, deliver: Callable[[OutboxMessage], None],
                     deliver_batch: Callable[[list[OutboxMessage]], list[BaseException | None]] | None = None) -> None:
    _channels[name] = deliver
    if deliver_batch is None:
        _batch_channels.pop(name, None)
    else:
        _batch_channels[name] = deliver_batch


def registered_channels() -> list[str]:
    return sorted(_channels)


def outbox_enqueue(*, channel: str, dedupe_key: str, payload: dict, available_at: datetime | None = None,
                   correlation_id=None, max_attempts: int = 8,
                   priority: int = OutboxMessage.Priority.INFORMATIONAL) -> OutboxMessage:
    """Write one side effect in the current transaction; kick the relay once it commits. `priority`
    ACTIONABLE for what someone waits on (it is claimed before informational rows)."""
    now = timezone.now()
    message = OutboxMessage(channel=channel, dedupe_key=dedupe_key[:255], payload=payload,
                            available_at=available_at or now, created_at=now, correlation_id=correlation_id,
                            max_attempts=max_attempts, priority=priority, **outbox_initial_state(now))
    # One INSERT … ON CONFLICT DO NOTHING RETURNING id (no read first, no savepoint): the unique
    # constraint on (channel, dedupe_key) decides, so two transactions enqueueing the same effect at
    # once still leave one row. Nothing returned: the row existed; that one is the message.
    fields = [f for f in OutboxMessage._meta.concrete_fields if not f.primary_key]
    returned = OutboxMessage.objects._insert([message], fields=fields, returning_fields=[OutboxMessage._meta.pk],
                                             on_conflict=OnConflict.IGNORE)
    created = bool(returned and returned[0] and returned[0][0] is not None)
    if created:
        message.pk = returned[0][0]
        message._state.adding = False
    else:
        message = OutboxMessage.objects.get(channel=channel, dedupe_key=message.dedupe_key)
    if created and message.status == OutboxMessage.Status.PENDING and (available_at is None or available_at <= now):
        outbox_kick_on_commit()
    return message


def outbox_kick_on_commit() -> None:
    """Kick the relay once the current transaction commits: once per transaction, however many rows
    it queued (one relay run takes them all; each kick is a broker round trip). A kick registered in
    a savepoint that rolls back is dropped with it, and the next row registers it again."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(func is outbox_kick for _, func, _ in connection.run_on_commit):
        return
    transaction.on_commit(outbox_kick)


KICK_CONNECT_TIMEOUT = 2.0
KICK_PAUSE_AFTER_FAILURE = 30.0
_kick_paused_until = 0.0
_kick_connection = threading.local()  # per thread: (process id, broker URL, kombu connection)


def outbox_kick() -> None:
    """Ask a worker to relay now. If the broker is down the row waits for the periodic relay;
    the write that enqueued it has already committed and is never affected. The kick connects with
    no retries and a short timeout, and after a failure is skipped for a while, so a broker outage
    never slows the requests that commit changes (Celery's default publish retries take seconds).

    The connection is kept for the next kick (one per process and thread, for the broker configured
    now): a kick is then one publish, not a connection, a channel and a queue declaration each time
    (5 ms of CPU and 30 ms of a loaded machine's request on every commit)."""
    global _kick_paused_until
    if time.monotonic() < _kick_paused_until:
        return
    from .tasks import outbox_relay

    app = outbox_relay.app  # the project's Celery app, which the task is bound to

    try:
        connection = _kick_connection_for(app)
        connection.ensure_connection(max_retries=0, timeout=KICK_CONNECT_TIMEOUT)
        outbox_relay.apply_async(retry=False, connection=connection)
    except Exception as error:  # noqa: BLE001 — any broker failure: the beat's relay drains later
        _kick_paused_until = time.monotonic() + KICK_PAUSE_AFTER_FAILURE
        _kick_connection_forget()
        logger.warning("Outbox relay not kicked (broker unavailable?): %s", error)


def _kick_connection_for(app):
    """This thread's kick connection to the app's current broker, made on first use. A forked child
    (web or task worker) makes its own; the parent's socket is left to the parent."""
    key = (os.getpid(), app.conf.broker_write_url or app.conf.broker_url)
    held = getattr(_kick_connection, "held", None)
    if held is None or held[0] != key:
        if held is not None and held[0][0] == key[0]:
            _kick_connection_forget()  # the broker changed: close ours to the old one
        held = (key, app.connection_for_write())
        _kick_connection.held = held
    return held[1]


def _kick_connection_forget() -> None:
    held = getattr(_kick_connection, "held", None)
    _kick_connection.held = None
    if held is not None and held[0][0] == os.getpid():
        try:
            held[1].release()
        except Exception:  # noqa: BLE001, S110 — a broken connection may fail to close; it is dropped anyway
            pass


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


def outbox_claim(*, limit: int = 100, now: datetime | None = None) -> list[OutboxMessage]:
    """Claim due rows with a lease, actionable ones first. Concurrent relays never claim the same row:
    on PostgreSQL one UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING; elsewhere a
    conditional update per row on its current `available_at`."""
    now = now or timezone.now()
    if connection.vendor == "postgresql":
        return _claim_postgresql(limit=limit, now=now)
    claimed = []
    with transaction.atomic():
        due = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=OutboxMessage.Status.PENDING, available_at__lte=now)
            .order_by("priority", "available_at", "pk")[:limit]
        )
        for message in due:
            won = OutboxMessage.objects.filter(
                pk=message.pk, status=OutboxMessage.Status.PENDING, available_at=message.available_at
            ).update(available_at=now + LEASE, attempts=message.attempts + 1)
            if won:
                message.available_at = now + LEASE
                message.attempts += 1
                claimed.append(message)
    return claimed


def _claim_postgresql(*, limit: int, now: datetime) -> list[OutboxMessage]:
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    sql = (f"UPDATE {table} SET available_at = %s, attempts = attempts + 1 WHERE id IN ("  # noqa: S608
           f"SELECT id FROM {table} WHERE status = %s AND available_at <= %s "
           f"ORDER BY priority, available_at, id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING *")
    with transaction.atomic():
        claimed = list(OutboxMessage.objects.raw(sql, [now + LEASE, OutboxMessage.Status.PENDING, now, limit]))
    claimed.sort(key=lambda m: (m.priority, m.created_at, m.pk))
    return claimed


def _still_ours(message: OutboxMessage, now: datetime) -> bool:
    """Renew the lease just before the effect, conditionally on our claim (attempt number and lease
    end): a row whose lease ran out and was claimed by another relay is left to that relay."""
    renewed = OutboxMessage.objects.filter(
        pk=message.pk, status=OutboxMessage.Status.PENDING, attempts=message.attempts,
        available_at=message.available_at,
    ).update(available_at=now + LEASE)
    if renewed:
        message.available_at = now + LEASE
    return bool(renewed)


def _record_failure(message: OutboxMessage, error: BaseException) -> None:
    """Retry later with backoff, or give up (permanent error, or out of attempts); conditional on our
    claim, so a slow relay never overwrites the outcome of the relay that took the row over."""
    ours = OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING,
                                        attempts=message.attempts)
    if isinstance(error, PermanentDeliveryError):
        ours.update(status=OutboxMessage.Status.FAILED, last_error=str(error)[:2000])
        logger.error("Outbox %s failed permanently: %s", message, error)
        return
    failed = message.attempts >= message.max_attempts
    ours.update(
        status=OutboxMessage.Status.FAILED if failed else OutboxMessage.Status.PENDING,
        available_at=timezone.now() + _backoff(message.attempts),
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.warning("Outbox %s attempt %s failed: %s", message, message.attempts, error)


def outbox_deliver(*, message: OutboxMessage) -> bool:
    """Deliver one claimed row; record success, retry later, or give up. True when delivered.
    Every outcome is written conditionally on our claim, so a slow relay never overwrites the
    outcome of the relay that took the row over after its lease ran out."""
    deliver = _channels.get(message.channel)
    now = timezone.now()
    if not _still_ours(message, now):
        return False
    try:
        if deliver is None:
            raise PermanentDeliveryError(f"No deliverer registered for channel {message.channel!r}.")
        deliver(message)
    except Exception as error:  # noqa: BLE001 — recorded: retry with backoff, bounded, or give up
        _record_failure(message, error)
        return False
    OutboxMessage.objects.filter(pk=message.pk, status=OutboxMessage.Status.PENDING,
                                 attempts=message.attempts).update(
        status=OutboxMessage.Status.DELIVERED, delivered_at=timezone.now(), last_error="")
    return True


# A batch is checked against its claim (one SELECT) before its effects, and this often while it runs:
# the lease (5 minutes) is far longer than a chunk takes (a claim of 200 emails over one connection: ~0.4 s).
BATCH_CHUNK = 1000
LEASE_MARGIN = timedelta(seconds=60)


def _ours(messages: list[OutboxMessage], now: datetime) -> list[OutboxMessage]:
    """Those of `messages` still claimed by us, with at least LEASE_MARGIN of their lease left."""
    current = {pk: (attempts, available_at) for pk, attempts, available_at in OutboxMessage.objects.filter(
        pk__in=[m.pk for m in messages], status=OutboxMessage.Status.PENDING,
    ).values_list("pk", "attempts", "available_at")}
    return [m for m in messages if current.get(m.pk) == (m.attempts, m.available_at)
            and m.available_at > now + LEASE_MARGIN]


def outbox_deliver_batch(*, messages: list[OutboxMessage]) -> int:
    """Deliver claimed rows of one channel with its batch deliverer, a chunk at a time, and record the
    outcomes: one UPDATE for the delivered rows of a chunk, one per failed row. Returns how many were
    delivered."""
    if not messages:
        return 0
    deliver_batch = _batch_channels[messages[0].channel]
    delivered = 0
    for start in range(0, len(messages), BATCH_CHUNK):
        chunk = _ours(messages[start:start + BATCH_CHUNK], timezone.now())
        if not chunk:
            continue
        try:
            outcomes = deliver_batch(chunk)
        except Exception as error:  # noqa: BLE001 — the whole chunk failed: each row retries
            outcomes = [error] * len(chunk)
        done: dict[int, list[int]] = {}
        for message, error in zip(chunk, outcomes, strict=True):
            if error is None:
                done.setdefault(message.attempts, []).append(message.pk)
            else:
                _record_failure(message, error)
        at = timezone.now()
        for attempts, ids in done.items():
            delivered += OutboxMessage.objects.filter(
                pk__in=ids, status=OutboxMessage.Status.PENDING, attempts=attempts,
            ).update(status=OutboxMessage.Status.DELIVERED, delivered_at=at, last_error="")
    return delivered


def outbox_relay_once(*, limit: int = 100, batched: bool = True) -> int:
    """Claim and deliver up to `limit` due rows, actionable ones first. Returns how many were
    delivered. `batched=False` delivers every row on its own (the path of channels without a batch
    deliverer; kept for comparison in bench/outbox_relay.py)."""
    delivered = 0
    claimed = outbox_claim(limit=limit)
    for priority in sorted({m.priority for m in claimed}):  # what someone waits on goes out first
        by_channel: dict[str, list[OutboxMessage]] = {}
        for message in (m for m in claimed if m.priority == priority):
            if batched and message.channel in _batch_channels:
                by_channel.setdefault(message.channel, []).append(message)
            else:
                delivered += outbox_deliver(message=message)
        for messages in by_channel.values():
            delivered += outbox_deliver_batch(messages=messages)
    return delivered
