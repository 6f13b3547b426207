"""Separation of duties: which conflict sets a change would violate, and the guards that refuse or flag it.

A principal *combines* two roles of one enabled conflict set when it holds or is eligible for both (live,
not over), at overlapping scopes (one at or below the other), directly or through the groups it is an
active member of. A live exception (`ConflictException`) of the principal for the set lifts it.

Checked at three points (`assignments.guards`), inside the transaction of the change:
- assignment creation: the new assignment against everything the principal holds or is eligible for
  (a new group membership brings the group's roles);
- activation: the activated role against the *active* assignments held during the activation's window
  (using both at once is what the set forbids; eligibility for both is the alert's business);
- approval: the approver against the requested role — an approver holding or eligible for a
  conflicting role at an overlapping scope.
Refuse-mode sets raise a conflict; flag-mode sets record a `separation_of_duties.flag` audit event in
the change's transaction and let it proceed. Existing conflicts feed the alert (`conflicts_existing`).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from assignments.models import Assignment, Principal, RoleDefinition, Scope, ScopeClosure
from assignments.selectors import principal_group_ids
from audit.services import audit_event_record
from core.actors import as_actor
from core.errors import conflict

from .models import ConflictException, ConflictSet


@dataclass(frozen=True)
class Conflict:
    """`principal` would combine `role` at `scope` with `other_role` at `other_scope` (set `conflict_set`)."""

    conflict_set: ConflictSet
    role: RoleDefinition
    scope: Scope
    other_role: RoleDefinition
    other_scope: Scope
    other_assignment_id: int | None = None
    via_group: Principal | None = None

    @property
    def refuses(self) -> bool:
        return self.conflict_set.mode == ConflictSet.Mode.REFUSE

    def sentence(self, who: str) -> str:
        via = f" through the group {self.via_group}" if self.via_group else ""
        return (f"Separation of duties ({self.conflict_set.name}): {who} would combine {self.role.name} at "
                f"{self.scope.path} with {self.other_role.name} at {self.other_scope.path}{via}.")


def overlapping_scope_ids(scope: Scope | int) -> set[int]:
    """The scopes at or above `scope`, and those below it (the closure table, one query)."""
    scope_id = getattr(scope, "pk", scope)
    ids = set()
    for ancestor, descendant in ScopeClosure.objects.filter(Q(descendant_id=scope_id) | Q(ancestor_id=scope_id)) \
            .values_list("ancestor_id", "descendant_id"):
        ids.add(ancestor if descendant == scope_id else descendant)
    return ids


def _sets_with(role: RoleDefinition | int) -> list[ConflictSet]:
    return list(ConflictSet.objects.filter(enabled=True, roles=role).prefetch_related("roles").distinct())


def excepted_set_ids(*, principal_ids, at: datetime) -> set[int]:
    return set(ConflictException.objects.filter(principal_id__in=list(principal_ids), revoked_at__isnull=True,
                                                end_at__gt=at).values_list("conflict_set_id", flat=True))


def conflicts_for(*, principal: Principal, role: RoleDefinition, scope: Scope, at: datetime | None = None,
                  active_only: bool = False, window_end: datetime | None = None,
                  exclude_assignment_ids: tuple[int, ...] = ()) -> list[Conflict]:
    """The conflicts `principal` would have by holding `role` at `scope` from `at`: against what it (or
    a group it is an active member of at `at`) holds or is eligible for, not over at `at` — only active
    assignments overlapping [`at`, `window_end`) with `active_only`. Excepted sets are left out."""
    at = at or timezone.now()
    sets = _sets_with(role)
    if not sets:
        return []  # the common case: one query
    holder_ids = [principal.pk, *principal_group_ids(principal=principal, at=at)]
    excepted = excepted_set_ids(principal_ids=[principal.pk], at=at)
    sets = [s for s in sets if s.pk not in excepted]
    others = {r.pk: r for s in sets for r in s.roles.all() if r.pk != role.pk}
    if not others:
        return []
    rows = (Assignment.objects.not_over_at(at)
            .filter(principal_id__in=holder_ids, role_id__in=list(others), scope_id__in=overlapping_scope_ids(scope))
            .exclude(pk__in=list(exclude_assignment_ids)).select_related("scope", "principal"))
    if active_only:
        rows = rows.filter(kind=Assignment.Kind.ACTIVE)
        if window_end is not None:
            rows = rows.filter(start_at__lt=window_end)
    found = []
    for row in rows.order_by("pk"):
        for conflict_set in sets:
            if row.role_id in {r.pk for r in conflict_set.roles.all()}:
                found.append(Conflict(conflict_set=conflict_set, role=role, scope=scope, other_role=others[row.role_id],
                                      other_scope=row.scope, other_assignment_id=row.pk,
                                      via_group=row.principal if row.principal_id != principal.pk else None))
    return found


def conflicts_for_new_assignment(*, principal: Principal, role: RoleDefinition, scope: Scope,
                                 at: datetime | None = None) -> list[Conflict]:
    """`conflicts_for`, and for a new group membership the roles that group holds or is eligible for."""
    at = at or timezone.now()
    found = conflicts_for(principal=principal, role=role, scope=scope, at=at)
    if role.slug == RoleDefinition.GROUP_MEMBER and scope.group_id:
        for brought in (Assignment.objects.not_over_at(at).filter(principal_id=scope.group_id)
                        .select_related("role", "scope")):
            found += conflicts_for(principal=principal, role=brought.role, scope=brought.scope, at=at)
    return found


def _decide(conflicts: list[Conflict], *, who: str, actor, action: str, principal, role, scope,
            correlation_id=None) -> None:
    refused = [c for c in conflicts if c.refuses]
    if refused:
        raise conflict(refused[0].sentence(who) + " The set refuses this; an administrator can grant an exception "
                                                  "with a justification and an end date.")
    for flagged in conflicts:
        audit_event_record(
            action="separation_of_duties.flag", actor=actor, principal=principal, role=role, scope=scope,
            target_type="governance.conflictset", target_id=str(flagged.conflict_set.pk),
            target_label=flagged.conflict_set.name, message=flagged.sentence(who) + f" Flagged at {action}.",
            after={"conflict_set": flagged.conflict_set.pk, "other_role": flagged.other_role.slug,
                   "other_scope": flagged.other_scope.path, "at": action},
            correlation_id=correlation_id)


# --- guards (assignments.guards points) -------------------------------------------------------------


def guard_assignment_create(*, principal: Principal, role: RoleDefinition, scope: Scope, kind: str,
                            start_at: datetime, end_at: datetime | None, actor) -> None:
    conflicts = conflicts_for_new_assignment(principal=principal, role=role, scope=scope, at=start_at)
    if conflicts:
        _decide(conflicts, who=str(principal), actor=as_actor(actor), action="assignment", principal=principal,
                role=role, scope=scope)


def guard_activation(*, principal: Principal, role: RoleDefinition, scope: Scope, start_at: datetime,
                     end_at: datetime | None, actor, request=None) -> None:
    conflicts = conflicts_for(principal=principal, role=role, scope=scope, at=start_at, active_only=True,
                              window_end=end_at)
    if conflicts:
        _decide(conflicts, who=str(principal), actor=as_actor(actor), action="activation", principal=principal,
                role=role, scope=scope, correlation_id=getattr(request, "pk", None))


def approver_conflicts(*, approver: Principal, role: RoleDefinition, scope: Scope,
                       at: datetime | None = None) -> list[Conflict]:
    """What an approver of `role` at `scope` holds or is eligible for that the set forbids combining with it."""
    return conflicts_for(principal=approver, role=role, scope=scope, at=at)


def guard_approval(*, request, actor) -> None:
    acting = as_actor(actor)
    if acting.principal is None:
        return
    conflicts = approver_conflicts(approver=acting.principal, role=request.role, scope=request.scope)
    if conflicts:
        _decide(conflicts, who=f"the approver {acting.principal}", actor=acting, action="approval",
                principal=request.principal, role=request.role, scope=request.scope, correlation_id=request.pk)


# --- existing conflicts (the alert) -----------------------------------------------------------------


@dataclass
class ExistingConflict:
    conflict_set: ConflictSet
    principal: Principal
    assignments: list[Assignment] = field(default_factory=list)

    @property
    def subject_key(self) -> str:
        return f"set:{self.conflict_set.pk}:principal:{self.principal.pk}"


def conflicts_existing(*, at: datetime | None = None) -> list[ExistingConflict]:
    """Every principal combining two roles of an enabled set now (directly or through groups; a group's
    assignment counts for each of its enabled active members), without a live exception. A constant
    number of queries: the sets, their roles' live assignments, the memberships of the groups among
    the holders, the ancestors of the scopes involved, the exceptions."""
    at = at or timezone.now()
    sets = list(ConflictSet.objects.filter(enabled=True).prefetch_related("roles"))
    role_ids = {r.pk for s in sets for r in s.roles.all()}
    if not role_ids:
        return []
    rows = list(Assignment.objects.not_over_at(at).filter(role_id__in=role_ids, principal__enabled=True)
                .select_related("principal", "role", "scope"))
    group_ids = {a.principal_id for a in rows if a.principal.kind == Principal.Kind.GROUP}
    members: dict[int, list[Principal]] = {}
    if group_ids:
        memberships = Assignment.objects.held_at(at).filter(
            kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_MEMBER, scope__group_id__in=group_ids,
            principal__enabled=True)
        for m in memberships.select_related("principal", "scope"):
            members.setdefault(m.scope.group_id, []).append(m.principal)
    ancestors: dict[int, set[int]] = {}
    for descendant, ancestor in ScopeClosure.objects.filter(descendant_id__in={a.scope_id for a in rows}) \
            .values_list("descendant_id", "ancestor_id"):
        ancestors.setdefault(descendant, set()).add(ancestor)
    by_principal: dict[int, list[Assignment]] = {}
    principals: dict[int, Principal] = {}
    for a in rows:
        for holder in [a.principal, *members.get(a.principal_id, [])]:
            by_principal.setdefault(holder.pk, []).append(a)
            principals[holder.pk] = holder
    exceptions = set(ConflictException.objects.filter(revoked_at__isnull=True, end_at__gt=at,
                                                      principal_id__in=list(by_principal))
                     .values_list("principal_id", "conflict_set_id"))

    def overlap(a: Assignment, b: Assignment) -> bool:
        return a.scope_id in ancestors.get(b.scope_id, ()) or b.scope_id in ancestors.get(a.scope_id, ())

    found = []
    for principal_id, held in by_principal.items():
        for conflict_set in sets:
            if (principal_id, conflict_set.pk) in exceptions:
                continue
            ids = {r.pk for r in conflict_set.roles.all()}
            mine = [a for a in held if a.role_id in ids]
            involved = {a.pk: a for a in mine for b in mine if a.role_id != b.role_id and overlap(a, b)}
            if involved:
                found.append(ExistingConflict(conflict_set=conflict_set, principal=principals[principal_id],
                                              assignments=sorted(involved.values(), key=lambda a: a.pk)))
    return found
