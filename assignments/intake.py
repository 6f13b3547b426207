"""Set-based writes for the directory intake: many users, groups and static memberships at once (an
LDAP first load, a large delta).

Each does for many rows what `user_create`, `group_create`, `membership_directory_add` and
`membership_directory_remove` do for one: the same rows, one audit event per change (appended at
commit with `audit_events_record_many`, so the chain is the same as with single events) and one
domain event per change (handed to the subscribers as a set, so connectors, webhooks and SCIM peers
queue exactly one outbox effect per change and nobody looks recipients up per row). A handful of
statements per call instead of ~20 per row, and no savepoint per row: PostgreSQL slows every later
statement of a transaction that opened more than 64 subtransactions.

The caller holds the transaction (one chunk), and has checked what it passes: usernames free,
external ids new, groups really groups. A row that breaks a database constraint anyway (a concurrent
writer took the same username or membership) raises IntegrityError and the caller's chunk rolls back
whole. Only the system, acting for a directory source, calls these.
"""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from audit.services import audit_events_record_many
from core import domain_events
from core.actors import Actor, as_actor
from core.errors import forbidden

from . import guards, selectors
from .batches import AssignmentBatch, AssignmentRow, principal_rows
from .models import Assignment, Principal, RoleDefinition, Scope, ScopeClosure, User
from .services import _end_clamped, assignment_end, assignment_snapshot


@dataclass(frozen=True)
class NewUser:
    """A user the directory describes and the portal does not have yet (username already cleaned)."""

    username: str
    external_id: str
    email: str = ""
    display_name: str = ""
    active: bool = True


def _system(actor: Actor | User) -> Actor:
    actor = as_actor(actor)
    if not actor.is_system:
        raise forbidden("Only the directory intake writes users, groups and memberships in bulk.")
    return actor


def users_create_many(*, source: str, users: list[NewUser], actor: Actor) -> list[Principal]:
    """Create the users and their principals (marked with `source` and their external id), audited
    `user.create` each, and `user.disable` for those the directory says are disabled (they hold
    nothing yet, so there is nothing to end). Returns the principals, in the order given."""
    actor = _system(actor)
    if not users:
        return []
    with transaction.atomic(savepoint=False):
        created = User.objects.bulk_create([
            User(username=u.username, email=u.email, display_name=u.display_name or u.username, is_active=u.active,
                 password=make_password(None)) for u in users])
        principals = Principal.objects.bulk_create([
            Principal(kind=Principal.Kind.USER, display_name=user.display_name, email=user.email, user=user,
                      enabled=u.active, external_source=source, external_id=u.external_id)
            for u, user in zip(users, created, strict=True)])
        events = []
        for u, user in zip(users, created, strict=True):
            events.append({"action": "user.create", "actor": actor, "target": user,
                           "after": {"username": u.username, "email": u.email, "emergency_access": False}})
            if not u.active:
                events.append({"action": "user.disable", "actor": actor, "target": user})
        audit_events_record_many(events)
    return principals


@dataclass(frozen=True)
class UserChange:
    """New attributes the directory gives a user the portal has (username already cleaned)."""

    user_id: int
    username: str
    email: str = ""
    display_name: str = ""


def users_update_many(*, changes: list[UserChange], actor: Actor) -> int:
    """Rename users and change their email and display name (on their principals too), as the
    per-user intake does, audited `user.update` each with before and after. Enabling and disabling
    are not here (disabling ends what the user holds: one user at a time). The users are locked in id
    order; one whose attributes are already these changes nothing. Returns how many changed."""
    actor = _system(actor)
    if not changes:
        return 0
    wanted = {change.user_id: change for change in changes}
    with transaction.atomic(savepoint=False):
        users = list(User.objects.select_for_update().filter(pk__in=wanted).order_by("pk"))
        changed, events = [], []
        for user in users:
            change = wanted[user.pk]
            before = {"username": user.username, "email": user.email, "display_name": user.display_name}
            after = {"username": change.username, "email": change.email,
                     "display_name": change.display_name or change.username}
            if before == after:
                continue
            user.username, user.email, user.display_name = after["username"], after["email"], after["display_name"]
            changed.append(user)
            events.append({"action": "user.update", "actor": actor, "target": user, "before": before, "after": after,
                           "message": "Updated from the directory."})
        User.objects.bulk_update(changed, ["username", "email", "display_name"])
        by_user = {user.pk: user for user in changed}
        principals = [Principal(pk=pk, display_name=by_user[user_id].display_name, email=by_user[user_id].email)
                      for pk, user_id in Principal.objects.filter(user_id__in=by_user).values_list("pk", "user_id")]
        Principal.objects.bulk_update(principals, ["display_name", "email"])
        audit_events_record_many(events)
    return len(changed)


def groups_create_many(*, source: str, groups: list[tuple[str, str]], actor: Actor) -> list[Principal]:
    """Create security groups (not role-assignable) from (external id, display name) pairs, each with
    its scope `/groups/<object id>` under the root and its closure rows, audited `scope.create` and
    `group.create` as `group_create` does. Returns the groups, in the order given."""
    actor = _system(actor)
    if not groups:
        return []
    with transaction.atomic(savepoint=False):
        created = Principal.objects.bulk_create([
            Principal(kind=Principal.Kind.GROUP, display_name=name, external_source=source, external_id=external_id)
            for external_id, name in groups])
        root = selectors.scope_root()
        scopes = Scope.objects.bulk_create([
            Scope(path=f"/groups/{group.object_id}", kind=Scope.Kind.GROUP, display_name=group.display_name,
                  parent=root, group=group) for group in created])
        above = list(ScopeClosure.objects.filter(descendant=root).values_list("ancestor_id", "depth"))
        ScopeClosure.objects.bulk_create(
            [ScopeClosure(ancestor_id=scope.pk, descendant_id=scope.pk, depth=0) for scope in scopes]
            + [ScopeClosure(ancestor_id=ancestor, descendant_id=scope.pk, depth=depth + 1)
               for scope in scopes for ancestor, depth in above])
        events = []
        for group, scope in zip(created, scopes, strict=True):
            events.append({"action": "scope.create", "actor": actor, "target": scope, "scope": scope,
                           "after": {"path": scope.path, "kind": scope.kind, "parent": root.path}})
            events.append({"action": "group.create", "actor": actor, "target": group, "principal": group,
                           "after": {"display_name": group.display_name, "role_assignable": False}})
        audit_events_record_many(events)
    return created


def _member_role() -> RoleDefinition:
    return RoleDefinition.objects.get(slug=RoleDefinition.GROUP_MEMBER)


def _group_scopes(group_ids) -> dict[int, Scope]:
    return {scope.group_id: scope for scope in Scope.objects.filter(group_id__in=set(group_ids))}


def memberships_directory_add_many(*, pairs: list[tuple[int, int]], actor: Actor,
                                   now: datetime | None = None) -> list[int]:
    """The directory says each (group id, member id) belongs together: a permanent active Member
    assignment with origin `directory` for each, as `membership_directory_add` makes one. Pairs whose
    member is disabled, is not a user, or already holds a live active membership of the group (of any
    origin: a PIM-managed one is never replaced) change nothing. Members are locked in id order first
    (as a single add locks its member). Returns the ids of the assignments created."""
    actor = _system(actor)
    pairs = sorted(set(pairs))
    if not pairs:
        return []
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        member_ids = {member for _, member in pairs}
        members = {pk: (kind, enabled, name) for pk, kind, enabled, name in Principal.objects.select_for_update()
                   .filter(pk__in=member_ids).order_by("pk").values_list("pk", "kind", "enabled", "display_name")}
        scopes = _group_scopes(group for group, _ in pairs)
        role = _member_role()
        held = set(Assignment.objects.filter(
            role=role, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
            scope_id__in=[scope.pk for scope in scopes.values()], principal_id__in=member_ids,
        ).values_list("scope_id", "principal_id"))
        wanted = [(scopes[group], member) for group, member in pairs
                  if group in scopes and member in members and members[member][0] == Principal.Kind.USER
                  and members[member][1] and (scopes[group].pk, member) not in held]
        if not wanted:
            return []
        guards.guards_run(guards.MEMBERSHIPS_DIRECTORY, pairs=[(scope.group_id, member) for scope, member in wanted],
                          at=now, actor=actor)  # separation of duties: flagged, never refused
        created = Assignment.objects.bulk_create([
            Assignment(principal_id=member, role=role, scope=scope, kind=Assignment.Kind.ACTIVE, start_at=now,
                       end_at=None, created_at=now, origin=Assignment.Origin.DIRECTORY)
            for scope, member in wanted])
        rows, events = [], []
        for assignment, (scope, member) in zip(created, wanted, strict=True):
            name = members[member][2]
            label = Assignment.label_of(principal=name, role=role.name, scope=scope.path, kind=assignment.kind)
            rows.append(AssignmentRow(assignment.pk, member, role.pk, scope.pk, assignment.kind, assignment.status,
                                      "", None, now, None, None, "", "", "", Assignment.Origin.DIRECTORY))
            events.append({
                "action": "assignment.create", "actor": actor, "target_type": Assignment._meta.label_lower,
                "target_id": str(assignment.pk), "target_label": label, "principal_id": member,
                "principal_label": name, "role_id": role.pk, "role_label": role.name, "scope": scope.path,
                "after": {"id": assignment.pk, "principal": name, "role": role.name, "scope": scope.path,
                          "kind": assignment.kind, "status": assignment.status, "start_at": now, "end_at": None,
                          "activated_from": None, "origin": assignment.origin, "end_reason": ""},
                "message": "Group membership received from the directory."})
        audit_events_record_many(events)
        batch = AssignmentBatch(at=now, rows=rows, principals=principal_rows(member_ids), roles={role.pk: role},
                                scopes={scope.pk: scope for scope in scopes.values()})
        domain_events.emit_many("assignment.created", batch)
    return [assignment.pk for assignment in created]


def memberships_directory_remove_many(*, pairs: list[tuple[int, int]], actor: Actor,
                                      now: datetime | None = None) -> int:
    """The directory says each (group id, member id) no longer belongs together: end the member's
    directory-origin membership (and what they activated through it), as `membership_directory_remove`
    does, audited and announced. PIM-managed memberships are left alone. The memberships are locked in
    id order. Returns how many this call ended."""
    actor = _system(actor)
    pairs = set(pairs)
    if not pairs:
        return 0
    now = now or timezone.now()
    with transaction.atomic(savepoint=False):
        scopes = _group_scopes(group for group, _ in pairs)
        wanted = {(scopes[group].pk, member) for group, member in pairs if group in scopes}
        locked = [assignment for assignment in Assignment.objects.select_for_update(of=("self",))
                  .select_related("principal__user", "role", "scope")
                  .filter(role=_member_role(), kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
                          origin=Assignment.Origin.DIRECTORY, scope_id__in={scope for scope, _ in wanted},
                          principal_id__in={member for _, member in wanted}).order_by("pk")
                  if (assignment.scope_id, assignment.principal_id) in wanted]
        ended, events = [], []
        for assignment in locked:
            before = assignment_snapshot(assignment)
            end_at = _end_clamped(assignment, now)
            if not assignment_end(assignment=assignment, reason=Assignment.EndReason.REMOVED, now=now, actor=actor):
                continue
            assignment.status, assignment.end_reason = Assignment.Status.ENDED, Assignment.EndReason.REMOVED
            assignment.ended_at, assignment.end_at = now, end_at
            ended.append(assignment)
            events.append({"action": "assignment.end", "actor": actor, "target": assignment,
                           "principal": assignment.principal, "role": assignment.role, "scope": assignment.scope,
                           "before": before, "after": assignment_snapshot(assignment),
                           "message": "Group membership removed in the directory."})
        audit_events_record_many(events)
        with domain_events.batch():  # subscribers read their configuration once for all of these
            for assignment in ended:
                domain_events.emit("assignment.removed", assignment=assignment, request=None, actor=None)
    return len(ended)
