"""Reconciliation: read each mapped grant back from its target and compare it with the access check.

For one mapping, PIM's truth is `access_role_holders` (every user holding the role at the scope now,
directly or through a group); the target's is the session's `holders`. The difference is drift:
- outside: in the target, and PIM never granted it (or PIM does not know the account);
- lingering: in the target, PIM granted it once and it has ended;
- missing: PIM says held, the target does not have it.
Effects still queued are in flight, not drift (a grant committed a second ago is not missing yet).
Each drift is one open `Drift` row (found again: its last_seen moves; not found: cleared), audited when
it opens; the alerts `connector_drift` and `roles_assigned_outside_pim` turn open drift into incidents.
Memory follows the holders of one mapping (sets of names), queries are constant per mapping.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from alerts.definitions import Finding
from alerts.services import alert_evaluate
from assignments.access import access_role_holders
from assignments.models import Principal
from audit.services import audit_event_record
from core.actors import Actor, as_actor

from .effects import effect_session
from .kinds import KINDS, ConnectorError
from .models import Drift, Effect, Mapping, Target

logger = logging.getLogger(__name__)


@dataclass
class Reconciled:
    target: str
    mappings: int = 0
    holders: int = 0
    opened: int = 0
    cleared: int = 0
    errors: list[str] = field(default_factory=list)


def _expected(mapping: Mapping) -> dict[str, int]:
    """username → principal id of every user PIM says holds the mapping now."""
    rows = access_role_holders(role_slugs=[mapping.role.slug], scope=mapping.scope_id)
    ids = [row.pk for row in rows if row.kind == Principal.Kind.USER]
    return dict(Principal.objects.filter(pk__in=ids).values_list("user__username", "pk"))


def _found(mapping: Mapping, holders) -> list[tuple[str, str, int | None]]:
    """(kind, account, principal id) for every difference."""
    expected = _expected(mapping)
    actual = {}
    for holder in holders:
        actual[holder.account] = holder.username
    in_flight = set(Effect.objects.filter(mapping=mapping, status=Effect.Status.QUEUED)
                    .values_list("principal_id", "action"))
    known = dict(Principal.objects.filter(user__username__in=[u for u in actual.values() if u])
                 .values_list("user__username", "pk"))
    granted_once = set(Effect.objects.filter(mapping=mapping, action=Effect.Action.GRANT, status=Effect.Status.DONE,
                                             principal_id__in=list(known.values()))
                       .values_list("principal_id", flat=True))
    drift = []
    present = set()
    for account, username in actual.items():
        principal_id = known.get(username) if username else None
        if principal_id is not None:
            present.add(principal_id)
        if username in expected:
            continue
        if principal_id is not None and (principal_id, Effect.Action.REVOKE) in in_flight:
            continue
        kind = Drift.Kind.LINGERING if principal_id in granted_once else Drift.Kind.OUTSIDE
        drift.append((kind, account, principal_id))
    for username, principal_id in expected.items():
        if principal_id in present or (principal_id, Effect.Action.GRANT) in in_flight:
            continue
        drift.append((Drift.Kind.MISSING, username, principal_id))
    return drift


def _record(mapping: Mapping, found: list[tuple[str, str, int | None]], *, now: datetime, actor: Actor,
            result: Reconciled) -> None:
    with transaction.atomic():
        current = {(d.account, d.kind): d for d in Drift.objects.select_for_update().filter(
            mapping=mapping, status=Drift.Status.OPEN)}
        seen = set()
        for kind, account, principal_id in found:
            key = (account, kind)
            seen.add(key)
            if key in current:
                Drift.objects.filter(pk=current[key].pk).update(last_seen_at=now)
                continue
            drift = Drift.objects.create(mapping=mapping, target_id=mapping.target_id, account=account[:500],
                                         principal_id=principal_id, kind=kind, first_seen_at=now, last_seen_at=now)
            result.opened += 1
            audit_event_record(action="connector_drift.open", actor=actor, target=drift, target_label=str(drift),
                               principal=drift.principal, role=mapping.role, scope=mapping.scope,
                               message=f"{drift.get_kind_display()}: {account} in {mapping.grant} ({mapping.target})",
                               after={"kind": kind, "account": account, "grant": mapping.grant})
        for key, drift in current.items():
            if key not in seen:
                Drift.objects.filter(pk=drift.pk, status=Drift.Status.OPEN).update(
                    status=Drift.Status.CLEARED, closed_at=now, resolution="No longer found by reconciliation.")
                result.cleared += 1


def target_reconcile(*, target: Target, actor: Actor | None = None, now: datetime | None = None) -> Reconciled:
    """Reconcile every enabled mapping of one target. A target that cannot be read records its error
    (status) and changes no drift: an unreachable target says nothing about who holds what."""
    actor = as_actor(actor or Actor.system("connectors-reconcile"))
    now = now or timezone.now()
    result = Reconciled(target=target.name)
    kind = KINDS.get(target.kind)
    if kind is not None and not kind.has_holders:
        return result  # a webhook target receives events: nothing is held there to read back
    mappings = list(target.mappings.filter(enabled=True).select_related("role", "scope", "target"))
    try:
        with effect_session(target) as session:
            for mapping in mappings:
                holders = list(session.holders(mapping.grant))
                result.holders += len(holders)
                _record(mapping, _found(mapping, holders), now=now, actor=actor, result=result)
                result.mappings += 1
    except ConnectorError as error:
        result.errors.append(str(error))
        Target.objects.filter(pk=target.pk).update(status=Target.Status.ERROR, status_message=str(error)[:2000],
                                                   status_at=timezone.now())
        return result
    Target.objects.filter(pk=target.pk).update(reconciled_at=now)
    return result


def connectors_reconcile(*, actor: Actor | None = None, evaluate: bool = True) -> list[Reconciled]:
    """Every enabled target, then the alerts that read drift (so an incident opens at once)."""
    actor = as_actor(actor or Actor.system("connectors-reconcile"))
    kinds = [key for key, kind in KINDS.items() if kind.has_holders]
    results = [target_reconcile(target=target, actor=actor)
               for target in Target.objects.filter(enabled=True, kind__in=kinds)]
    if evaluate:
        for key in ("connector_drift", "roles_assigned_outside_pim"):
            alert_evaluate(key=key, actor=actor)
    return results


# --- findings for the alerts (registered in ConnectorsConfig.ready) ------------------------------------


def _drift_finding(drift: Drift) -> Finding:
    mapping = drift.mapping
    who = str(drift.principal) if drift.principal else drift.account
    return Finding(
        subject_key=f"drift:{drift.pk}",
        title=f"{who}: {drift.get_kind_display().lower()} — {mapping.grant} in {drift.target}",
        detail=(f"Mapped from {mapping.role.name} at {mapping.scope.path}. Account {drift.account}; first seen "
                f"{drift.first_seen_at:%Y-%m-%d %H:%M} UTC. Fix it on the target's drift page."),
        principal=drift.principal, role=mapping.role, scope=mapping.scope,
        data={"drift_id": drift.pk, "target_id": drift.target_id, "kind": drift.kind, "account": drift.account},
    )


def _open_drift(**filters):
    return (Drift.objects.filter(status=Drift.Status.OPEN, **filters)
            .select_related("mapping", "mapping__role", "mapping__scope", "target", "principal")
            .order_by("first_seen_at", "pk"))


def findings_drift(thresholds: dict, now: datetime) -> list[Finding]:
    return [_drift_finding(drift) for drift in _open_drift()]


def findings_outside_pim(thresholds: dict, now: datetime) -> list[Finding]:
    """Grants found in targets that PIM never made: the honest source of "assigned outside PIM"."""
    return [_drift_finding(drift) for drift in _open_drift(kind=Drift.Kind.OUTSIDE)]


def findings_overdue(thresholds: dict, now: datetime) -> list[Finding]:
    since = now - timedelta(minutes=thresholds["minutes"])
    overdue = (Effect.objects.filter(status=Effect.Status.QUEUED, action=Effect.Action.REVOKE,
                                     first_error_at__lte=since)
               .select_related("mapping", "mapping__role", "mapping__scope", "target", "principal")
               .order_by("first_error_at", "pk"))
    return [Finding(
        subject_key=f"effect:{effect.pk}",
        title=f"{effect.principal}: {effect.applied_grant} in {effect.target} not revoked since "
              f"{effect.first_error_at:%Y-%m-%d %H:%M} UTC",
        detail=f"Attempt {effect.attempts}: {effect.last_error}",
        principal=effect.principal, role=effect.mapping.role, scope=effect.mapping.scope,
        data={"effect_id": effect.pk, "target_id": effect.target_id},
    ) for effect in overdue]
