"""Reads: the effective policy, who may manage or view what, and lists with their related rows.

The decision queries themselves live in `assignments.access`; this module builds the portal's
authorization rules on top of them.
"""

from datetime import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Q, QuerySet
from django.utils import timezone

from .access import access_has_any_role
from .models import Assignment, Principal, RoleDefinition, RoleSetting, Scope

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


def assignments_visible_to(*, user) -> QuerySet[Assignment]:
    """Assignments `user` may see: directory roles for directory viewers; resource and group roles
    at scopes where the user holds an administering role (at or above)."""
    qs = assignment_list()
    if user is None or not hasattr(user, "principal"):
        return qs.none()
    visible = Q(pk__in=[])
    if user_holds_any(user=user, role_slugs=DIRECTORY_VIEWER_ROLES):
        visible |= Q(role__kind=RoleDefinition.Kind.DIRECTORY)
    admin_scopes = user_administered_scope_ids(user=user)
    visible |= Q(role__kind__in=[RoleDefinition.Kind.RESOURCE, RoleDefinition.Kind.GROUP]) & Q(
        scope__ancestor_links__ancestor__in=admin_scopes
    )
    if user_holds_any(user=user, role_slugs=DIRECTORY_ADMIN_ROLES):
        visible |= Q(role__kind=RoleDefinition.Kind.GROUP)
    return qs.filter(visible).distinct()


def user_administered_scope_ids(*, user, at: datetime | None = None) -> QuerySet:
    """Ids of the scopes where `user` (or a group they are an active member of) actively holds Owner,
    User Access Administrator or group Owner: a subquery, evaluated by the caller's query."""
    at = at or timezone.now()
    return (
        Assignment.objects.filter(
            Q(principal=user.principal) | Q(principal__in=_group_ids_of(user.principal, at)),
            kind=Assignment.Kind.ACTIVE,
            status=Assignment.Status.LIVE,
            start_at__lte=at,
            role__slug__in=RESOURCE_ADMIN_ROLES + [RoleDefinition.GROUP_OWNER],
            principal__enabled=True,
        )
        .filter(Q(end_at__isnull=True) | Q(end_at__gt=at))
        .values("scope_id")
    )


def _group_ids_of(principal: Principal, at: datetime) -> QuerySet:
    return (
        Assignment.objects.filter(
            principal=principal,
            role__slug=RoleDefinition.GROUP_MEMBER,
            kind=Assignment.Kind.ACTIVE,
            status=Assignment.Status.LIVE,
            start_at__lte=at,
            scope__group__enabled=True,  # as in the access check: a disabled group grants nothing
        )
        .filter(Q(end_at__isnull=True) | Q(end_at__gt=at))
        .values("scope__group_id")
    )


def principal_group_ids(*, principal: Principal, at: datetime | None = None) -> list[int]:
    """Ids of the groups `principal` is an active member of at `at`."""
    return [row["scope__group_id"] for row in _group_ids_of(principal, at or timezone.now())
            if row["scope__group_id"] is not None]


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
    at = at or timezone.now()
    qs = Assignment.objects.filter(
        role__slug=role_slug,
        kind=Assignment.Kind.ACTIVE,
        status=Assignment.Status.LIVE,
        start_at__lte=at,
        principal__enabled=True,
    ).filter(Q(end_at__isnull=True) | Q(end_at__gt=at))
    if scope is not None:
        qs = qs.filter(scope=scope)
    if exclude_assignment_id is not None:
        qs = qs.exclude(pk=exclude_assignment_id)
    if lasting_until is not None:
        qs = qs.filter(Q(end_at__isnull=True) | Q(end_at__gte=lasting_until))
    return qs.count()
