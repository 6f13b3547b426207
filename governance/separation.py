"""Separation of duties: which conflict sets a change would violate, and the guards that refuse or flag it.

A principal *combines* two roles of one enabled conflict set when it holds or is eligible for both (live,
not over), at overlapping scopes (one at or below the other), directly or through the groups it is an
active member of. A live exception (`ConflictException`) of the principal for the set lifts it; one past
its end no longer does (checked against the time of the change, not by a job).

A change *gives* roles to people (`gains_of`): the principal itself; for a grant to a group, each of its
active members; for a group membership, the roles that group holds. Each gain is checked against what
that person holds (`conflicts_of_gains`, a constant number of queries however many people gain; none at
all while no conflict set exists, a cached answer). The points (`assignments.guards`), inside the
transaction of the change, under the writer's locks:
- assignment creation, renewal, make active: against everything held or eligible;
- a window change (extension, new dates): an activation against the active assignments of its new
  window, anything else against everything held or eligible;
- activation: against the *active* assignments held during the activation's window (using both at once
  is what the set forbids; eligibility for both is the alert's business);
- approval: the approver against the requested role — an approver holding or eligible for a
  conflicting role at an overlapping scope;
- directory memberships (SCIM, LDAP, sign-in claims): flagged only, never refused.
Refuse-mode sets raise a conflict; flag-mode sets record a `separation_of_duties.flag` audit event in
the change's transaction and let it proceed. Existing conflicts feed the alert (`conflicts_existing`).
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from assignments.models import Assignment, Principal, RoleDefinition, Scope, ScopeClosure
from audit.services import audit_event_record
from core.actors import as_actor
from core.errors import conflict

from .models import ConflictException, ConflictSet

CACHE_KEY = "governance:any-conflict-set"
# Bounds how late a process that does not share the cache (no PIM_CACHE_URL: per-process memory) sees
# the first conflict set another process created; with a shared cache every change is seen at once.
CACHE_SECONDS = 30


def any_conflict_sets() -> bool:
    """Whether any enabled conflict set exists: from the cache (zero statements), else one query. The
    common case of a directory without sets then costs the guards nothing."""
    found = cache.get(CACHE_KEY)
    if found is None:
        found = ConflictSet.objects.filter(enabled=True).exists()
        cache.set(CACHE_KEY, found, CACHE_SECONDS)
    return found


def conflict_sets_changed() -> None:
    """Forget the cached answer, now and again when the change commits (a process reading in between
    would otherwise cache the old answer)."""
    cache.delete(CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(CACHE_KEY))


@dataclass(frozen=True)
class Conflict:
    """`principal` would combine `role` at `scope` with `other_role` at `other_scope` (set `conflict_set`).
    `through`: the group the change gives `role` through (a grant to the group, or a membership of it);
    `via_group`: the group through which `principal` holds the other role."""

    conflict_set: ConflictSet
    role: RoleDefinition
    scope: Scope
    other_role: RoleDefinition
    other_scope: Scope
    other_assignment_id: int | None = None
    via_group: Principal | None = None
    principal: Principal | None = None
    through: Principal | None = None

    @property
    def refuses(self) -> bool:
        return self.conflict_set.mode == ConflictSet.Mode.REFUSE

    def sentence(self, who: str | None = None) -> str:
        who = who or str(self.principal)
        through = f" through the group {self.through}" if self.through else ""
        via = f" through the group {self.via_group}" if self.via_group else ""
        return (f"Separation of duties ({self.conflict_set.name}): {who} would combine {self.role.name} at "
                f"{self.scope.path}{through} with {self.other_role.name} at {self.other_scope.path}{via}.")


def _overlaps(scope_ids) -> dict[int, set[int]]:
    """Scope id → the scopes at or above it and those below it, for several scopes in one query."""
    wanted = set(scope_ids)
    found: dict[int, set[int]] = {pk: set() for pk in wanted}
    for ancestor, descendant in ScopeClosure.objects.filter(Q(descendant_id__in=wanted) | Q(ancestor_id__in=wanted)) \
            .values_list("ancestor_id", "descendant_id"):
        if descendant in wanted:
            found[descendant].add(ancestor)
        if ancestor in wanted:
            found[ancestor].add(descendant)
    return found


@dataclass(frozen=True)
class Gain:
    """`person` comes to hold (or be eligible for) `role` at `scope`, through the group `through` if any."""

    person: Principal
    role: RoleDefinition
    scope: Scope
    through: Principal | None = None


def _brought(*, group_ids, at: datetime, active_only: bool, window_end: datetime | None):
    """Group id → what the group holds or is eligible for, not over at `at` (one query for every group)."""
    rows = Assignment.objects.not_over_at(at).filter(principal_id__in=set(group_ids))
    if active_only:
        rows = rows.filter(kind=Assignment.Kind.ACTIVE)
        if window_end is not None:
            rows = rows.filter(start_at__lt=window_end)
    found: dict[int, list[Assignment]] = {}
    for row in rows.select_related("principal", "role", "scope").order_by("pk"):
        found.setdefault(row.principal_id, []).append(row)
    return found


def gains_of(*, principal: Principal, role: RoleDefinition, scope: Scope, at: datetime, active_only: bool = False,
             window_end: datetime | None = None) -> list[Gain]:
    """What holding `role` at `scope` gives, and to whom: `principal` itself; each active member of a
    group `principal` (one query for all of them); for a membership of a group, the roles that group
    holds (active ones only with `active_only`: an activation)."""
    gains = [Gain(person=principal, role=role, scope=scope)]
    if principal.kind == Principal.Kind.GROUP:
        for membership in (Assignment.objects.held_at(at)
                           .filter(kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_MEMBER,
                                   scope__group_id=principal.pk, principal__enabled=True)
                           .select_related("principal").order_by("principal_id")):
            gains.append(Gain(person=membership.principal, role=role, scope=scope, through=principal))
    if role.slug == RoleDefinition.GROUP_MEMBER and scope.group_id:
        group = Principal.objects.get(pk=scope.group_id) if scope.group_id != principal.pk else principal
        for row in _brought(group_ids=[scope.group_id], at=at, active_only=active_only,
                            window_end=window_end).get(scope.group_id, []):
            gains.append(Gain(person=principal, role=row.role, scope=row.scope, through=group))
    return gains


def conflicts_of_gains(gains: list[Gain], *, at: datetime, active_only: bool = False,
                       window_end: datetime | None = None) -> list[Conflict]:
    """The conflicts the gains would create, against what each person holds or is eligible for (not over
    at `at`; only active assignments overlapping [`at`, `window_end`) with `active_only`), directly or
    through the groups they are active members of, and against each other. A person's live exception
    for a set (or that of the group it gains the role through) lifts it. A constant number of queries
    however many people gain: none without conflict sets, one when no set names a gained role."""
    if not gains or not any_conflict_sets():
        return []
    sets = list(ConflictSet.objects.filter(enabled=True, roles__in={g.role.pk for g in gains}).distinct()
                .prefetch_related("roles"))
    if not sets:
        return []
    members_of = {s.pk: {r.pk for r in s.roles.all()} for s in sets}
    roles = {r.pk: r for s in sets for r in s.roles.all()}
    gains = [g for g in gains if g.role.pk in roles]
    people = {g.person.pk: g.person for g in gains}
    groups_of: dict[int, set[int]] = {pk: set() for pk in people}
    for member_id, group_id in (Assignment.objects.held_at(at).filter(
            kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_MEMBER, principal_id__in=list(people),
            principal__enabled=True, scope__group__enabled=True).values_list("principal_id", "scope__group_id")):
        groups_of[member_id].add(group_id)
    exempt = set(ConflictException.objects.filter(
        principal_id__in=set(people) | {g.through.pk for g in gains if g.through}, revoked_at__isnull=True,
        end_at__gt=at).values_list("principal_id", "conflict_set_id"))
    overlaps = _overlaps({g.scope.pk for g in gains})
    rows = (Assignment.objects.not_over_at(at)
            .filter(principal_id__in=set(people) | {pk for ids in groups_of.values() for pk in ids},
                    role_id__in=list(roles), scope_id__in={pk for ids in overlaps.values() for pk in ids})
            .select_related("scope", "principal"))
    if active_only:
        rows = rows.filter(kind=Assignment.Kind.ACTIVE)
        if window_end is not None:
            rows = rows.filter(start_at__lt=window_end)
    rows = list(rows.order_by("pk"))
    found = []
    for gain in gains:
        person = gain.person
        holders = {person.pk, *groups_of.get(person.pk, ())}
        others = [(row.role_id, row.scope, row.pk, row.principal if row.principal_id != person.pk else None)
                  for row in rows if row.principal_id in holders]
        others += [(other.role.pk, other.scope, None, other.through) for other in gains
                   if other.person.pk == person.pk and other is not gain and other.through is not None]
        for role_id, other_scope, other_id, via in others:
            if role_id == gain.role.pk or other_scope.pk not in overlaps[gain.scope.pk]:
                continue
            for conflict_set in sets:
                ids = members_of[conflict_set.pk]
                if gain.role.pk not in ids or role_id not in ids or (person.pk, conflict_set.pk) in exempt \
                        or (gain.through and (gain.through.pk, conflict_set.pk) in exempt):
                    continue
                found.append(Conflict(conflict_set=conflict_set, role=gain.role, scope=gain.scope,
                                      other_role=roles[role_id], other_scope=other_scope, other_assignment_id=other_id,
                                      via_group=via, principal=person, through=gain.through))
    return found


def conflicts_for(*, principal: Principal, role: RoleDefinition, scope: Scope, at: datetime | None = None,
                  active_only: bool = False, window_end: datetime | None = None) -> list[Conflict]:
    """The conflicts `principal` would have by holding `role` at `scope` from `at`: against what it (or
    a group it is an active member of at `at`) holds or is eligible for, not over at `at` — only active
    assignments overlapping [`at`, `window_end`) with `active_only`. Excepted sets are left out."""
    at = at or timezone.now()
    if not any_conflict_sets():
        return []
    return conflicts_of_gains([Gain(person=principal, role=role, scope=scope)], at=at, active_only=active_only,
                              window_end=window_end)


def conflicts_for_new_assignment(*, principal: Principal, role: RoleDefinition, scope: Scope,
                                 at: datetime | None = None, active_only: bool = False,
                                 window_end: datetime | None = None) -> list[Conflict]:
    """`conflicts_for`, and for a grant to a group the conflicts of each of its members, and for a new
    group membership those of the roles that group holds or is eligible for."""
    at = at or timezone.now()
    if not any_conflict_sets():
        return []
    gains = gains_of(principal=principal, role=role, scope=scope, at=at, active_only=active_only,
                     window_end=window_end)
    return conflicts_of_gains(gains, at=at, active_only=active_only, window_end=window_end)


def _flag(flagged: Conflict, *, actor, change: str, principal, role, scope, correlation_id=None,
          who: str | None = None) -> None:
    audit_event_record(
        action="separation_of_duties.flag", actor=actor, principal=principal, role=role, scope=scope,
        target_type="governance.conflictset", target_id=str(flagged.conflict_set.pk),
        target_label=flagged.conflict_set.name, message=flagged.sentence(who) + f" Flagged at {change}.",
        after={"conflict_set": flagged.conflict_set.pk, "other_role": flagged.other_role.slug,
               "other_scope": flagged.other_scope.path, "at": change,
               "principal": flagged.principal.pk if flagged.principal else None,
               "through": flagged.through.pk if flagged.through else None},
        correlation_id=correlation_id)


def _decide(conflicts: list[Conflict], *, who: str | None = None, actor, action: str, principal, role, scope,
            correlation_id=None) -> None:
    refused = [c for c in conflicts if c.refuses]
    if refused:
        raise conflict(refused[0].sentence(who) + " The set refuses this; an administrator can grant an exception "
                                                  "with a justification and an end date.")
    for flagged in conflicts:
        # A grant to a group: the member who would combine the roles is the one the event names.
        _flag(flagged, actor=actor, change=action, principal=flagged.principal if flagged.through else principal,
              role=role, scope=scope, correlation_id=correlation_id, who=who)


# --- guards (assignments.guards points) -------------------------------------------------------------


def guard_assignment_create(*, principal: Principal, role: RoleDefinition, scope: Scope, kind: str,
                            start_at: datetime, end_at: datetime | None, actor, change: str = "assignment") -> None:
    conflicts = conflicts_for_new_assignment(principal=principal, role=role, scope=scope, at=start_at)
    if conflicts:
        _decide(conflicts, actor=as_actor(actor), action=change, principal=principal, role=role, scope=scope)


def guard_assignment_change(*, assignment: Assignment, start_at: datetime, end_at: datetime | None, actor,
                            change: str) -> None:
    """A live assignment's window changes (an extension, new dates): what it gives from now on. An
    activation against the active assignments of its new window; eligibility and standing access against
    everything held or eligible."""
    at = max(start_at, timezone.now())
    activation = assignment.activated_from_id is not None
    conflicts = conflicts_for_new_assignment(principal=assignment.principal, role=assignment.role,
                                             scope=assignment.scope, at=at, active_only=activation,
                                             window_end=end_at if activation else None)
    if conflicts:
        _decide(conflicts, actor=as_actor(actor), action=change, principal=assignment.principal,
                role=assignment.role, scope=assignment.scope)


def guard_activation(*, principal: Principal, role: RoleDefinition, scope: Scope, start_at: datetime,
                     end_at: datetime | None, actor, request=None) -> None:
    """Using both at once is what a set forbids: the activated role (and, for a group membership, the
    roles the group holds) against the active assignments held during the activation's window."""
    conflicts = conflicts_for_new_assignment(principal=principal, role=role, scope=scope, at=start_at,
                                             active_only=True, window_end=end_at)
    if conflicts:
        _decide(conflicts, who=str(principal), actor=as_actor(actor), action="activation", principal=principal,
                role=role, scope=scope, correlation_id=getattr(request, "pk", None))


def guard_memberships_directory(*, pairs: list[tuple[int, int]], at: datetime, actor) -> None:
    """Memberships the directory sends are never refused (the directory, not PIM, governs them): each
    conflict they create is flagged — an audit event in the sync's transaction — and the existing
    conflicts alert shows it until it is resolved. A constant number of queries for the whole batch."""
    if not pairs or not any_conflict_sets():
        return
    people = Principal.objects.in_bulk({member for _, member in pairs})
    groups = Principal.objects.in_bulk({group for group, _ in pairs})
    scopes = {s.group_id: s for s in Scope.objects.filter(group_id__in=list(groups))}
    brought = _brought(group_ids=list(groups), at=at, active_only=False, window_end=None)
    gains = [Gain(person=people[member], role=row.role, scope=row.scope, through=groups[group])
             for group, member in pairs if member in people and group in scopes for row in brought.get(group, [])]
    acting = as_actor(actor)
    for flagged in conflicts_of_gains(gains, at=at):
        _flag(flagged, actor=acting, change="directory membership", principal=flagged.principal,
              role=flagged.role, scope=flagged.scope)


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
