"""The seam between the apps that own a versioned setting and the app that versions it (`policy`).

A role setting, a connector mapping or an alert's thresholds is written by its own app's service. That
service calls, inside its write transaction, `config_change_guard(...)` after locking what it changes
and before writing, then `config_change_recorded(...)` after writing. The policy app, above those apps,
installs one handler at start-up (its AppConfig.ready()): the guard refuses a direct change where dual
control is on and keeps the version history's baseline; the recorder writes the new version in the
same transaction, so a committed change always has its version and a rolled-back one never does.
Without a handler (the policy app not installed) both do nothing.

`kind` names a registered kind of configuration (`policy.registry`); `key` names one item of it, in
that kind's own spelling (a role setting: `<role slug>@<scope path>`).

Why a change is made: a person changing a setting on its page or through the API says why
(`config_change_why`, required); the service passes it to `config_change_recorded` and its audit event.
A caller with no one to ask (a rollback, an approved proposal, an import, bootstrap) passes None and
states the reason for the whole block with `config_change_reason`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from core.errors import invalid

REASON_LIMIT = 2000


class Handler(Protocol):
    def guard(self, *, kind: str, key: str, scope_path: str, actor: Any, existed: bool) -> None: ...

    def recorded(self, *, kind: str, key: str, actor: Any, reason: str) -> None: ...


_handler: list[Handler] = []
_reason: ContextVar[str] = ContextVar("config_change_reason", default="")


def install(handler: Handler) -> None:
    """Called once, by the versioning app's AppConfig.ready()."""
    _handler[:] = [handler]


def config_change_guard(*, kind: str, key: str, scope_path: str, actor: Any, existed: bool = True) -> None:
    """Before writing: raises `DomainError` when the change may not be applied directly. `existed`: the
    item existed before this transaction (False when the service has just created it to lock it)."""
    for handler in _handler:
        handler.guard(kind=kind, key=key, scope_path=scope_path, actor=actor, existed=existed)


def config_change_recorded(*, kind: str, key: str, actor: Any, reason: str = "") -> None:
    """After writing, in the same transaction: the item's new state becomes a version, with `reason` (or
    the enclosing `config_change_reason`)."""
    for handler in _handler:
        handler.recorded(kind=kind, key=key, actor=actor, reason=reason or current_reason())


def config_change_why(reason: str | None, *, what: str) -> str:
    """The reason a change is made, checked. A string is a person's answer to "why": required (an empty
    one is refused, naming the field `reason`). None: the caller has no one to ask, and the reason is the
    enclosing block's (`config_change_reason`), possibly empty."""
    if reason is None:
        return current_reason()
    reason = str(reason).replace("\x00", "").strip()
    if not reason:
        raise invalid(f"Say why you {what}: the version history and the audit log record it.", field="reason")
    if len(reason) > REASON_LIMIT:
        raise invalid(f"The reason is longer than {REASON_LIMIT} characters.", field="reason")
    return reason


@contextmanager
def config_change_reason(reason: str) -> Iterator[None]:
    """Why the changes made inside the block are made (a rollback, an approved proposal, an import):
    the versions they record carry it."""
    token = _reason.set(reason)
    try:
        yield
    finally:
        _reason.reset(token)


def current_reason() -> str:
    return _reason.get()
