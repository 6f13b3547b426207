"""Domain events: named facts that services emit *inside* their transaction.

Consumers (the outbox that feeds email, webhooks and SCIM) subscribe once at start-up, in their
AppConfig.ready(), and write their own rows in the same transaction, so a committed change always
has its side effects queued and a rolled-back one never does. Consumers must not change domain state.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

Subscriber = Callable[..., None]
_subscribers: list[Subscriber] = []
# Optional set-based handlers, keyed by subscriber: `handler(name=..., batch=...)` for `emit_many`.
_batch_handlers: dict[Subscriber, Subscriber] = {}

# The events services emit, with the keyword arguments they carry.
EVENTS = {
    "assignment.created": "assignment, request, actor",
    "assignment.updated": "assignment, request, actor, before",
    "assignment.removed": "assignment, request, actor",
    "assignment.extended": "assignment, request, actor",
    "assignment.renewed": "assignment, request, actor",
    "assignment.activated": "assignment, request, actor",
    "assignment.deactivated": "assignment, request, actor",
    "assignment.expired": "assignment",
    "request.created": "request, actor",
    "request.approved": "request, actor",
    "request.denied": "request, actor",
    "request.canceled": "request, actor",
    "request.timed_out": "request",
    # Facts that are not assignment transitions (webhooks take them): `data` is their JSON body and
    # `key` names the occurrence (an endpoint gets each once).
    "alert.incident_opened": "data, key",
    "review.started": "data, key",
    "review.completed": "data, key, actor",
    "role_setting.updated": "data, key, actor",
    "user.signed_in": "data, key",
}


def subscribe(fn: Subscriber, *, many: Subscriber | None = None) -> Subscriber:
    """Register `fn(name=..., **payload)`; `many(name=..., batch=...)`, if given, takes the events of
    a set-based job at once (see `emit_many`)."""
    if fn not in _subscribers:
        _subscribers.append(fn)
    if many is not None:
        _batch_handlers[fn] = many
    return fn


def emit(name: str, **payload: Any) -> None:
    for fn in list(_subscribers):
        fn(name=name, **payload)


def emit_many(name: str, assignments: Any) -> None:
    """The same event for many assignments at once, from a set-based job (the expiry sweep).

    `assignments` is an `assignments.batches.AssignmentBatch`: plain rows plus the principals, roles
    and scopes they name. A subscriber with a `many` handler gets the batch whole; any other subscriber
    gets one ordinary event per assignment, built as a model (`assignments.models()`) inside a
    `batch()` block, so every subscriber hears of every row either way."""
    for fn in list(_subscribers):
        many = _batch_handlers.get(fn)
        if many is not None:
            many(name=name, batch=assignments)
            continue
        with batch():
            for assignment in assignments.models():
                fn(name=name, assignment=assignment)


_batch_memo: ContextVar[dict | None] = ContextVar("domain_events_batch_memo", default=None)


@contextmanager
def batch() -> Iterator[dict]:
    """Many events emitted in one transaction (a sweep's batch). Subscribers may memoise their
    configuration lookups in `batch_memo()` for its duration instead of querying per event."""
    token = _batch_memo.set({})
    try:
        yield _batch_memo.get()
    finally:
        _batch_memo.reset(token)


def batch_memo() -> dict | None:
    """The current batch's memo, or None outside a batch (then look things up per event)."""
    return _batch_memo.get()
