"""Guard points: rules of higher apps that the assignments writer and the request pipeline run inside
their own transactions, under their locks (separation of duties, from `governance`). The point's
caller names what is about to happen; each registered guard raises `DomainError` to refuse it, or
records what it flags (an audit event, in the same transaction). Registered once at start-up (the
higher app's AppConfig.ready), like `alerts.definitions.findings_source_register`: this app never
imports them."""

from collections.abc import Callable

ASSIGNMENT_CREATE = "assignment.create"  # principal, role, scope, kind, start_at, end_at, actor
ACTIVATION = "activation"  # principal, role, scope, start_at, end_at, actor, request
APPROVAL = "approval"  # request, actor (the approver)

_guards: dict[str, list[Callable[..., None]]] = {}


def guard_register(point: str, guard: Callable[..., None]) -> None:
    if guard not in _guards.setdefault(point, []):
        _guards[point].append(guard)


def guards_run(point: str, **subject) -> None:
    for guard in _guards.get(point, []):
        guard(**subject)
