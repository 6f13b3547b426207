"""Guard points: rules of higher apps that the assignments writer and the request pipeline run inside
their own transactions, under their locks (separation of duties, from `governance`). The point's
caller names what is about to happen; each registered guard raises `DomainError` to refuse it, or
records what it flags (an audit event, in the same transaction). Registered once at start-up (the
higher app's AppConfig.ready), like `alerts.definitions.findings_source_register`: this app never
imports them."""

from collections.abc import Callable

# A new assignment: an administrator's, a renewal (change="renewal"), an eligibility made active
# (change="make active"). principal, role, scope, kind, start_at, end_at, actor[, change]
ASSIGNMENT_CREATE = "assignment.create"
# A live assignment's window changes: an extension, new dates (change="extension" / "update").
# assignment (locked), start_at, end_at, actor, change
ASSIGNMENT_CHANGE = "assignment.change"
ACTIVATION = "activation"  # principal, role, scope, start_at, end_at, actor, request
APPROVAL = "approval"  # request, actor (the approver)
# Memberships the directory sends (SCIM, LDAP, sign-in claims): guards flag, never refuse, a sync.
# pairs [(group id, member id)], at, actor
MEMBERSHIPS_DIRECTORY = "memberships.directory"

_guards: dict[str, list[Callable[..., None]]] = {}


def guard_register(point: str, guard: Callable[..., None]) -> None:
    if guard not in _guards.setdefault(point, []):
        _guards[point].append(guard)


def guards_run(point: str, **subject) -> None:
    for guard in _guards.get(point, []):
        guard(**subject)
