"""The handler the owners' services call inside their write transactions (`core.config_changes`):
the dual-control gate and the version history."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.utils import timezone

from core.actors import as_actor
from core.errors import conflict

from .models import ConfigVersion, DualControl
from .registry import KINDS


@dataclass(frozen=True)
class Applying:
    """How the changes made inside `applying(...)` came about: they become versions of this source; an
    approved proposal (`proposal_id`) passes dual control, since a second administrator approved it."""

    source: str
    proposal_id: int | None = None
    rolled_back_to: int | None = None


_applying: ContextVar[Applying | None] = ContextVar("policy_applying", default=None)


@contextmanager
def applying(how: Applying) -> Iterator[None]:
    token = _applying.set(how)
    try:
        yield
    finally:
        _applying.reset(token)


def dual_control_at(scope_path: str) -> DualControl | None:
    """The dual control in force at `scope_path`: set there or at any scope above it (one query)."""
    return (DualControl.objects.select_related("scope")
            .filter(scope__descendant_links__descendant__path=scope_path)
            .order_by("scope__path").first())


def latest_version(kind: str, key: str) -> ConfigVersion | None:
    return ConfigVersion.objects.filter(kind=kind, key=key).order_by("-number").first()


class _Handler:
    def guard(self, *, kind: str, key: str, scope_path: str, actor, existed: bool = True) -> None:
        how = _applying.get()
        if how is None or how.proposal_id is None:
            control = dual_control_at(scope_path)
            if control is not None:
                raise conflict(f"Dual control is on at {control.scope.path}: this change applies once a second "
                               f"administrator approves it. Propose it on the Policy page (or "
                               f"POST /api/v1/policy/proposals/).")
        if existed and latest_version(kind, key) is None:
            # The first change the history sees: keep the item as it was, so that it can be rolled back to.
            data = KINDS[kind].snapshot(key)
            if data is not None:
                ConfigVersion.objects.create(kind=kind, key=key, number=1, data=data, diff=[],
                                             source=ConfigVersion.Source.BASELINE, created_at=timezone.now())

    def recorded(self, *, kind: str, key: str, actor, reason: str = "") -> None:
        registered = KINDS[kind]
        data = registered.snapshot(key)
        last = latest_version(kind, key)
        if last is not None and last.data == data:
            return  # nothing changed in what is versioned (e.g. only updated_at)
        how = _applying.get() or Applying(source=ConfigVersion.Source.CHANGE)
        actor = as_actor(actor)
        ConfigVersion.objects.create(
            kind=kind, key=key, number=(last.number + 1) if last else 1, data=data,
            diff=registered.diff(last.data if last else None, data), source=how.source, reason=reason,
            created_by=actor.user, actor_label=actor.label[:200], proposal_id=how.proposal_id or None,
            rolled_back_to=how.rolled_back_to, created_at=timezone.now())


HANDLER = _Handler()
