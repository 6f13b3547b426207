"""Per-request audit context (correlation id, client address), set by `AuditContextMiddleware`.

Services take the actor explicitly; the context only supplies what an HTTP request knows and a
service should not: where the call came from and which web request it belongs to.
"""

import uuid
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AuditContext:
    correlation_id: uuid.UUID = field(default_factory=uuid.uuid4)
    client_ip: str | None = None


_current: ContextVar[AuditContext | None] = ContextVar("pim_audit_context", default=None)


def current() -> AuditContext:
    ctx = _current.get()
    return ctx if ctx is not None else AuditContext()


def bound() -> AuditContext | None:
    """The context of the request being served, or None outside one (where `current()` makes up a fresh
    correlation id for each call)."""
    return _current.get()


@contextmanager
def bind(*, correlation_id: uuid.UUID | None = None, client_ip: str | None = None):
    token = _current.set(AuditContext(correlation_id=correlation_id or uuid.uuid4(), client_ip=client_ip))
    try:
        yield
    finally:
        _current.reset(token)
