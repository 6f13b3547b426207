"""Reads: the effective policy, who may manage or view what, and lists with their related rows.

The decision queries themselves live in `assignments.access`; this module builds the portal's
authorization rules on top of them.
"""

import re
from dataclasses import dataclass
from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Q, QuerySet, Subquery
from django.db.models.functions import Upper
from django.utils import timezone

from .access import access_has_any_role
from .models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, ScopeClosure, User

ROOT_PATH = "/"

DIRECTORY_ADMIN_ROLES = [RoleDefinition.GLOBAL_ADMINISTRATOR, RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR]
DIRECTORY_VIEWER_ROLES = [
    RoleDefinition.GLOBAL_ADMINISTRATOR,
    RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR,
    RoleDefinition.SECURITY_ADMINISTRATOR,
    RoleDefinition.GLOBAL_READER,
    RoleDefinition.SECURITY_READER,
]
RESOURCE_ADMIN_ROLES = [RoleDefinition.OWNER, RoleDefinition.USER_ACCESS_ADMINISTRATOR]
GROUP_ADMIN_ROLES = [
    RoleDefinition.GROUP_OWNER,
    RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR,
    RoleDefinition.GLOBAL_ADMINISTRATOR,
]
PROTECTED_LAST_ROLES = [RoleDefinition.GLOBAL_ADMINISTRATOR, RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR]


# Where each kind of role can be held (DESIGN §2): directory roles at the root `/` only, group roles
# at a group, resource roles anywhere but a group. `rules.check_role_fits_scope` refuses the rest;
# forms offer only these (`scopes_for_role`).
ROLE_SCOPE_KINDS = {
    RoleDefinition.Kind.DIRECTORY: [Scope.Kind.DIRECTORY],
    RoleDefinition.Kind.GROUP: [Scope.Kind.GROUP],
    RoleDefinition.Kind.RESOURCE: [kind for kind in Scope.Kind.values if kind != Scope.Kind.GROUP],
}


def role_fits_scope(*, role: RoleDefinition, scope: Scope) -> bool:
    return scope.kind in ROLE_SCOPE_KINDS[role.kind]


def scopes_for_role(*, role: RoleDefinition, user=None, within: Scope | None = None) -> QuerySet[Scope]:
    """The scopes where `role` can be held (and, with `user`, where the user may manage it: at or below a
    scope where they hold one of its administering roles, the rule of `user_can_manage`), optionally
    `within` a scope (it and below). A subquery-backed queryset, one query when evaluated."""
    scopes = Scope.objects.filter(kind__in=ROLE_SCOPE_KINDS[role.kind])
    if within is not None:
        scopes = scopes.filter(ancestor_links__ancestor=within)
    if user is not None:
        if not getattr(user, "is_authenticated", False) or not hasattr(user, "principal"):
            return Scope.objects.none()
        scopes = scopes.filter(pk__in=ScopeClosure.objects.filter(
            ancestor_id__in=user_held_scope_ids(user=user, role_slugs=admin_roles_for(role=role))
        ).values("descendant_id"))
    return scopes


def roles_assignable_by(*, user) -> QuerySet[RoleDefinition]:
    """The roles `user` may assign somewhere (one query per kind of role: its administering roles and
    scopes are the kind's)."""
    kinds = []
    for kind in RoleDefinition.Kind.values:
        sample = RoleDefinition(kind=kind)
        if scopes_for_role(role=sample, user=user).exists():
            kinds.append(kind)
    return RoleDefinition.objects.filter(kind__in=kinds)


def role_setting_opens(*, user, role: RoleDefinition, scope: Scope) -> bool:
    """Does the policy of `role` at `scope` open for `user`? At the root (the role's default) or where the
    role can be held (the rule `role_setting_update` applies), and where the user may manage or view it
    (the editor's rule)."""
    if not (scope.is_root or role_fits_scope(role=role, scope=scope)):
        return False
    return user_can_manage(user=user, role=role, scope=scope) or user_can_view(user=user, role=role, scope=scope)


def role_setting_kinds_openable_by(*, user) -> list[str]:
    """The kinds of role whose policy `user` opens somewhere: where they may assign it (`roles_assignable_by`),
    and the directory roles for a directory viewer (their policy lives at the root)."""
    kinds = []
    for kind in RoleDefinition.Kind.values:
        sample = RoleDefinition(kind=kind)
        if scopes_for_role(role=sample, user=user).exists() or user_can_view(user=user, role=sample,
                                                                              scope=scope_root()):
            kinds.append(kind)
    return kinds


def role_setting_scopes_openable_by(*, user, kinds: list[str]) -> QuerySet[Scope]:
    """The scopes where the policy of a role of one of `kinds` opens for `user` (`role_setting_opens`):
    `scopes_for_role` of each kind, and the root where they may view the kind's policy there."""
    root = scope_root()
    scopes = Scope.objects.none()
    for kind in kinds:
        sample = RoleDefinition(kind=kind)
        scopes = scopes | scopes_for_role(role=sample, user=user)
        if user_can_view(user=user, role=sample, scope=root) or user_can_manage(user=user, role=sample, scope=root):
            scopes = scopes | Scope.objects.filter(pk=root.pk)
    return scopes.distinct()


def scope_root() -> Scope:
    return Scope.objects.get(path=ROOT_PATH)


def scope_get(*, path: str) -> Scope | None:
    path = path.replace("\x00", "")  # PostgreSQL refuses NUL in text; no scope path contains one
    return Scope.objects.filter(path=path).select_related("group").first()


def scope_ancestor_paths(*, scope: Scope) -> list[str]:
    """Paths of the scope and its ancestors, nearest first (one query)."""
    return list(
        Scope.objects.filter(descendant_links__descendant=scope)
        .order_by("descendant_links__depth")
        .values_list("path", flat=True)
    )


def admin_roles_for(*, role: RoleDefinition) -> list[str]:
    """The role slugs that manage assignments of `role` (DESIGN §3 'Who may do what')."""
    if role.kind == RoleDefinition.Kind.DIRECTORY:
        return DIRECTORY_ADMIN_ROLES
    if role.kind == RoleDefinition.Kind.RESOURCE:
        return RESOURCE_ADMIN_ROLES
    return GROUP_ADMIN_ROLES


def viewer_roles_for(*, role: RoleDefinition) -> list[str]:
    if role.kind == RoleDefinition.Kind.DIRECTORY:
        return DIRECTORY_VIEWER_ROLES
    return admin_roles_for(role=role)


def user_can_manage(*, user, role: RoleDefinition, scope: Scope, at: datetime | None = None) -> bool:
    """May `user` manage assignments and settings of `role` at `scope`? One access-check query."""
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "principal"):
        return False
    return access_has_any_role(principal=user.principal, role_slugs=admin_roles_for(role=role), scope=scope, at=at)


def user_can_view(*, user, role: RoleDefinition, scope: Scope) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "principal"):
        return False
    return access_has_any_role(principal=user.principal, role_slugs=viewer_roles_for(role=role), scope=scope)


def user_holds_any(*, user, role_slugs: list[str], scope: Scope | str = ROOT_PATH) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "principal"):
        return False
    return access_has_any_role(principal=user.principal, role_slugs=role_slugs, scope=scope)


_KIND_WORD = {RoleDefinition.Kind.DIRECTORY: "directory", RoleDefinition.Kind.RESOURCE: "resource",
              RoleDefinition.Kind.GROUP: "group"}


def role_labels() -> dict[int, str]:
    """Role id → the name to show in lists: the name, and its kind where two roles share it
    ("Owner (group)", "Owner (resource)"). One query over the role catalogue."""
    rows = list(RoleDefinition.objects.values_list("pk", "name", "kind"))
    counts: dict[str, int] = {}
    for _, name, _ in rows:
        counts[name.casefold()] = counts.get(name.casefold(), 0) + 1
    return {pk: f"{name} ({_KIND_WORD.get(kind, kind)})" if counts[name.casefold()] > 1 else name
            for pk, name, kind in rows}


def role_setting_effective(*, role: RoleDefinition, scope: Scope) -> RoleSetting:
    """The policy that applies to `role` at `scope`: the setting at the nearest scope at or above it.

    Falls back to an unsaved RoleSetting with the built-in defaults when none exists.
    """
    setting = (
        RoleSetting.objects.filter(role=role, scope__descendant_links__descendant=scope)
        .order_by("scope__descendant_links__depth")
        .select_related("scope", "role")
        .first()
    )
    if setting is None:
        setting = RoleSetting(role=role, scope=scope)
    return setting


def role_setting_approver_ids(*, setting: RoleSetting) -> list[int]:
    return [] if setting.pk is None else list(setting.approvers.values_list("pk", flat=True))


def expiration_delta(code: str) -> relativedelta:
    """ISO-8601 period codes of `RoleSetting.EXPIRATION_CHOICES` → relativedelta."""
    number = int(code[1:-1])
    unit = code[-1]
    return {"D": relativedelta(days=number), "M": relativedelta(months=number), "Y": relativedelta(years=number)}[unit]


def assignment_list(*, at: datetime | None = None) -> QuerySet[Assignment]:
    """All assignments with the rows list pages show, in a constant number of queries."""
    return Assignment.objects.select_related("principal", "role", "scope", "created_by", "activated_from")


def assignment_visibility_q(*, user) -> Q:
    """The condition of `assignments_visible_to` on Assignment: subqueries (role ids of a kind, scope
    ids at or below where the user administers), never joins, so a list needs no DISTINCT and its
    ORDER BY … LIMIT can be read off an index. Four small queries; the rest runs in the list's."""
    if user is None or not hasattr(user, "principal"):
        return Q(pk__in=[])

    # The role ids of each kind and the scopes the user administers are read first (two small queries)
    # and given to the list's query as values: the planner then knows how many rows they select, and
    # reads the first page off the (role, scope, kind, status) index instead of sorting every visible row.
    role_ids: dict[str, list[int]] = {}
    for pk, kind in RoleDefinition.objects.values_list("pk", "kind"):
        role_ids.setdefault(kind, []).append(pk)

    def roles_of(*kinds) -> list[int]:
        return sorted(pk for kind in kinds for pk in role_ids.get(kind, []))

    visible = Q(pk__in=[])
    if user_holds_any(user=user, role_slugs=DIRECTORY_VIEWER_ROLES):
        visible |= Q(role_id__in=roles_of(RoleDefinition.Kind.DIRECTORY))
    administered = sorted(set(user_administered_scope_ids(user=user).values_list("scope_id", flat=True)))
    if administered:
        below_administered = ScopeClosure.objects.filter(ancestor_id__in=administered).values("descendant_id")
        visible |= Q(role_id__in=roles_of(RoleDefinition.Kind.RESOURCE, RoleDefinition.Kind.GROUP),
                     scope_id__in=below_administered)
    if user_holds_any(user=user, role_slugs=DIRECTORY_ADMIN_ROLES):
        visible |= Q(role_id__in=roles_of(RoleDefinition.Kind.GROUP))
    return visible


def q_through(condition: Q, prefix: str) -> Q:
    """`condition` on Assignment, read through a relation (`prefix` such as `"eligible_assignment__"`
    on Request): every lookup gets the prefix, values (subqueries included) stay. Filter another model
    by `q_through(assignment_visibility_q(user=...), ...)` rather than by `assignment__in=
    assignments_visible_to(...)`: at a million assignments PostgreSQL hashes every visible id for such
    a subquery (minutes for an Owner at `/`), where the condition is checked on the rows at hand.
    Lookups only: an expression in `condition` (an Exists, say) cannot be moved and is refused."""
    through = Q()
    through.connector, through.negated = condition.connector, condition.negated
    for child in condition.children:
        if isinstance(child, Q):
            through.children.append(q_through(child, prefix))
        elif isinstance(child, tuple):
            lookup, value = child
            through.children.append((f"{prefix}{lookup}", value))
        else:
            raise TypeError(f"q_through moves lookups, not expressions: {child!r}")
    return through


def assignments_visible_to(*, user) -> QuerySet[Assignment]:
    """Assignments `user` may see: directory roles for directory viewers; resource and group roles
    at scopes where the user holds an administering role (at or above); group roles for directory
    administrators. Each row once (no DISTINCT needed)."""
    qs = assignment_list()
    if user is None or not hasattr(user, "principal"):
        return qs.none()
    return qs.filter(assignment_visibility_q(user=user))


# The Assignments page's order: by role, then scope, type and state, then id — the columns of
# `assignment_role_scope_idx` (role, scope, kind, status) and the primary key, so the first page and
# any page after a keyset cursor are an index range read, whatever the number of assignments.
LIST_ORDER = ("role_id", "scope_id", "kind", "status", "id")


@dataclass
class KeysetPage:
    """One page of a keyset-paginated list: `rows`, and the cursors of the pages around it (None
    when there is none)."""

    rows: list
    next_cursor: str | None
    previous_cursor: str | None

    @property
    def object_list(self) -> list:
        return self.rows

    @property
    def has_next(self) -> bool:
        return self.next_cursor is not None

    @property
    def has_previous(self) -> bool:
        return self.previous_cursor is not None


def _cursor_of(row) -> str:
    return ".".join(str(getattr(row, name)) for name in LIST_ORDER)


def cursor_parse(text: str | None) -> tuple | None:
    """A cursor of `assignment_keyset_page` back to its key, or None if it is not one (a hand-edited
    address then shows the first page, never a 500)."""
    if not text:
        return None
    parts = str(text).split(".")
    if len(parts) != len(LIST_ORDER):
        return None
    try:
        role_id, scope_id, pk = int(parts[0]), int(parts[1]), int(parts[4])
    except ValueError:
        return None
    kind, status = parts[2], parts[3]
    if kind not in Assignment.Kind.values or status not in Assignment.Status.values:
        return None
    if not all(0 < value < 2**63 for value in (role_id, scope_id, pk)):
        return None
    return role_id, scope_id, kind, status, pk


def assignment_keyset_page(*, queryset: QuerySet[Assignment], after: str | None = None, before: str | None = None,
                           size: int = 50) -> KeysetPage:
    """A page of `queryset` in `LIST_ORDER`: the first, the one after the cursor `after`, or the one
    before the cursor `before`. One query (LIMIT size + 1, to know whether there is more); the
    previous page is assumed to exist when we came from it. No COUNT, no OFFSET."""
    from django.db.models import F
    from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

    key = Tuple(*(F(name) for name in LIST_ORDER))
    backwards = cursor_parse(before) is not None and cursor_parse(after) is None
    if backwards:
        rows = list(queryset.filter(TupleLessThan(key, cursor_parse(before)))
                    .order_by(*(f"-{name}" for name in LIST_ORDER))[:size + 1])
        more_before = len(rows) > size
        rows = rows[:size][::-1]
        return KeysetPage(rows, _cursor_of(rows[-1]) if rows else None,
                          _cursor_of(rows[0]) if rows and more_before else None)
    start = cursor_parse(after)
    if start is not None:
        queryset = queryset.filter(TupleGreaterThan(key, start))
    rows = list(queryset.order_by(*LIST_ORDER)[:size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return KeysetPage(rows, _cursor_of(rows[-1]) if more else None,
                      _cursor_of(rows[0]) if start is not None and rows else None)


# --- Who holds what, at a time ---------------------------------------------------------------------
# The access check (`assignments.access`) answers one (principal, role, scope, time) in one SQL
# statement. These are the same definition for sets — the holders of a role, the grants of a principal
# — in the ORM, for the places that need many answers at once (approver queues, visibility,
# recipients, alerts). The rules, as there: an assignment counts when it is active and held at T
# (`held_at_q`) and its principal is enabled; a principal also holds what the enabled groups it is
# an active Member of at T hold; a disabled principal holds nothing.
# tests/test_access_check_agrees_with_a_naive_reference.py holds all of them to one reference.


def assignments_held_at(*, at: datetime | None = None) -> QuerySet[Assignment]:
    """Assignments of either kind in effect at `at` (default now)."""
    return Assignment.objects.held_at(at or timezone.now())


def _member_role_id() -> Subquery:
    """The Member role's id as a scalar subquery: the planner then looks memberships up on the
    (principal, role, …) and (role, scope, …) indexes with a known role, instead of joining the
    role table and hashing every membership of the directory."""
    return Subquery(RoleDefinition.objects.filter(slug=RoleDefinition.GROUP_MEMBER).values("pk")[:1])


def _memberships_held_at(at: datetime) -> QuerySet[Assignment]:
    """The group memberships that count at `at`: active Member assignments held then, of an enabled
    member, in an enabled group."""
    return assignments_held_at(at=at).filter(
        kind=Assignment.Kind.ACTIVE,
        role_id=_member_role_id(),
        principal__enabled=True,
        scope__group__enabled=True,
    )


def _memberships_of_groups_held_at(at: datetime, groups) -> QuerySet[Assignment]:
    """`_memberships_held_at(at)` in the groups `groups` (ids, or a subquery of ids), addressed
    through the groups' scopes: (Member role, scope) on the holders index, a few rows per group
    whatever the number of memberships in the directory."""
    group_scopes = Scope.objects.filter(group_id__in=groups, group__enabled=True).values("pk")
    return assignments_held_at(at=at).filter(
        kind=Assignment.Kind.ACTIVE,
        role_id=_member_role_id(),
        principal__enabled=True,
        scope_id__in=group_scopes,
    )


def principal_group_ids(*, principal: Principal | int, at: datetime | None = None) -> list[int]:
    """Ids of the enabled groups `principal` is an active member of at `at` (one query)."""
    at = at or timezone.now()
    return list(_memberships_held_at(at).filter(principal=principal).values_list("scope__group_id", flat=True))


def role_assignments_held_by(*, principal: Principal | int, role_slugs: list[str] | None = None,
                             at: datetime | None = None) -> QuerySet[Assignment]:
    """The active assignments through which `principal` holds a role at `at`: its own, and those of
    the enabled groups it is an active member of then. Empty for a disabled principal. Scopes are as
    assigned: the role is held there and at every scope below."""
    at = at or timezone.now()
    principal_id = getattr(principal, "pk", principal)
    groups = _memberships_held_at(at).filter(principal_id=principal_id).values("scope__group_id").order_by()
    # The principal and its groups as one id list (a UNION), not `principal = … OR principal_id IN (…)`:
    # PostgreSQL reads an OR of the two with a sequential scan of every assignment (0.3 s at 1 M), the
    # IN list with the (principal, role, …) index.
    holders = Principal.objects.filter(pk=principal_id).values("pk").order_by().union(groups)
    qs = assignments_held_at(at=at).filter(kind=Assignment.Kind.ACTIVE, principal__enabled=True,
                                           principal_id__in=holders)
    if role_slugs is not None:
        qs = qs.filter(role__slug__in=role_slugs)
    return qs


def user_held_scope_ids(*, user, role_slugs: list[str], at: datetime | None = None) -> QuerySet:
    """Ids of the scopes where `user` holds any of `role_slugs` at `at` (directly or through a
    group): a subquery, evaluated by the caller's query."""
    return role_assignments_held_by(principal=user.principal, role_slugs=role_slugs, at=at).values("scope_id")


def user_administered_scope_ids(*, user, at: datetime | None = None) -> QuerySet:
    """Ids of the scopes where `user` (or a group they are an active member of) actively holds Owner,
    User Access Administrator or group Owner: a subquery, evaluated by the caller's query."""
    return user_held_scope_ids(user=user, role_slugs=RESOURCE_ADMIN_ROLES + [RoleDefinition.GROUP_OWNER], at=at)


def _ancestor_ids(scope: Scope | int | str) -> QuerySet:
    if isinstance(scope, str):
        return ScopeClosure.objects.filter(descendant__path=scope).values("ancestor_id")
    return ScopeClosure.objects.filter(descendant_id=getattr(scope, "pk", scope)).values("ancestor_id")


def principals_and_members(*, principal_ids, at: datetime | None = None) -> QuerySet[Principal]:
    """The enabled principals among `principal_ids` and the active members at `at` of the groups
    among them (enabled members of enabled groups). One query when evaluated."""
    at = at or timezone.now()
    principal_ids = list(principal_ids)
    members = _memberships_of_groups_held_at(at, principal_ids).values("principal_id").order_by()
    listed = Principal.objects.filter(pk__in=principal_ids).values("pk").order_by()
    return Principal.objects.filter(enabled=True, pk__in=listed.union(members))


def principal_search(*, text: str, kinds: list[str] | None = None, limit: int = 20) -> QuerySet[Principal]:
    text = (text or "").replace("\x00", "")  # PostgreSQL refuses NUL in text
    qs = Principal.objects.filter(enabled=True)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    if text:
        qs = qs.filter(Q(display_name__icontains=text) | Q(email__icontains=text) | Q(user__username__icontains=text))
    return qs.order_by("display_name")[:limit]


def role_held_count(*, role_slug: str, scope: Scope | None = None, exclude_assignment_id: int | None = None,
                    lasting_until: datetime | None = None, at: datetime | None = None) -> int:
    """How many live active assignments of the role (at `scope`) are held now by enabled principals
    and last at least until `lasting_until` (permanent ones always do)."""
    qs = assignments_held_at(at=at).filter(role__slug=role_slug, kind=Assignment.Kind.ACTIVE,
                                           principal__enabled=True)
    if scope is not None:
        qs = qs.filter(scope=scope)
    if exclude_assignment_id is not None:
        qs = qs.exclude(pk=exclude_assignment_id)
    if lasting_until is not None:
        qs = qs.filter(Q(end_at__isnull=True) | Q(end_at__gte=lasting_until))
    return qs.count()


def principals_by_names(*, names: list[str]) -> tuple[list[Principal], list[str]]:
    """Users by user name and groups by display name (case-insensitive, exact), for the stages page's
    approver lists: (found, names that match nobody or more than one). Two queries."""
    wanted = [n.strip() for n in names if n.strip()]
    if not wanted:
        return [], []
    # Upper(username) is indexed (`user_username_upper_idx`): "Alice" finds alice, as the page says.
    users = {p.user.username.casefold(): p for p in Principal.objects.annotate(upper_name=Upper("user__username"))
             .filter(kind=Principal.Kind.USER, upper_name__in=sorted({n.upper() for n in wanted}))
             .select_related("user")}
    groups: dict[str, list[Principal]] = {}
    for group in Principal.objects.filter(kind=Principal.Kind.GROUP).filter(
            display_name__iregex=r"^(" + "|".join(re.escape(n) for n in wanted) + r")$"):
        groups.setdefault(group.display_name.casefold(), []).append(group)
    found, unknown = [], []
    for name in dict.fromkeys(n.casefold() for n in wanted):
        if name in users:
            found.append(users[name])
        elif len(groups.get(name, [])) == 1:
            found.append(groups[name][0])
        else:
            unknown.append(next(n for n in wanted if n.casefold() == name))
    return found, unknown


def stage_approver_names(principals) -> str:
    """The other way round: one name a line (user name, or group display name)."""
    return "\n".join(p.user.username if p.is_user and p.user_id else p.display_name for p in principals)


def user_by_username(*, username: str):
    """The user of that user name (case-insensitive), or None."""
    return User.objects.filter(username__iexact=(username or "").strip()).select_related("principal").first()
