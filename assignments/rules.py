"""Assignment rules shared by the admin services and the self-service request pipeline.

Each function raises `DomainError` with a sentence a person understands, or returns nothing.
They read (one query at most each) but never write.
"""

from datetime import datetime

from django.conf import settings
from django.utils import timezone

from core.actors import Actor, as_actor
from core.errors import DomainError, forbidden, invalid

from . import selectors
from .models import Assignment, Principal, RoleDefinition, RoleSetting, Scope

# Starting "now" from a form takes a moment; a start this far in the past still counts as now.
START_TOLERANCE_SECONDS = 120


def check_actor_can_manage(*, actor: Actor, role: RoleDefinition, scope: Scope) -> None:
    """Only the system (a background job) is trusted; people and service principals need an
    administering role, held through their own assignments (one query)."""
    actor = as_actor(actor)
    if actor.is_system:
        return
    if not selectors.user_can_manage(user=actor, role=role, scope=scope):
        needed = ", ".join(
            RoleDefinition.objects.filter(slug__in=selectors.admin_roles_for(role=role)).values_list("name", flat=True)
        )
        raise forbidden(f"You are not allowed to manage {role.name} at {scope.path}: that needs one of {needed} "
                        f"at this scope or above.")


def check_role_fits_scope(*, role: RoleDefinition, scope: Scope) -> None:
    """`selectors.ROLE_SCOPE_KINDS`, said in a sentence."""
    if selectors.role_fits_scope(role=role, scope=scope):
        return
    if role.kind == RoleDefinition.Kind.DIRECTORY and not scope.is_root:
        raise invalid(f"{role.name} is a directory role: it can only be assigned at the directory root '/'.")
    if role.kind == RoleDefinition.Kind.GROUP and scope.kind != Scope.Kind.GROUP:
        raise invalid(f"{role.name} is a group role: pick a group as the scope.")
    if role.kind == RoleDefinition.Kind.RESOURCE and scope.kind == Scope.Kind.GROUP:
        raise invalid(f"{role.name} is a resource role: it cannot be assigned at a group.")
    raise invalid(f"{role.name} cannot be held at {scope.path}.")


def check_principal_can_hold(*, principal: Principal, role: RoleDefinition, scope: Scope, kind: str,
                             end_at: datetime | None) -> None:
    if not principal.enabled:
        raise invalid(f"{principal} is disabled and cannot be given roles.")
    if principal.is_service_principal:
        if kind == Assignment.Kind.ELIGIBLE and not selectors.role_setting_effective(
                role=role, scope=scope).allow_service_principal_activation:
            raise invalid(f"Service principals cannot be eligible for {role.name} at {scope.path}: its policy does "
                          f"not allow service principals to request activation. Give a time-bound active "
                          f"assignment, or turn on 'Service principals may request activation' in the role setting.")
        if end_at is None:
            raise invalid("Service principals can only hold time-bound assignments: set an end date.")
    if principal.is_group:
        if role.kind == RoleDefinition.Kind.DIRECTORY and not principal.role_assignable:
            raise invalid(f"The group {principal} was not created role-assignable, so it cannot hold the directory "
                          f"role {role.name}. Only groups created as role-assignable can.")
        if role.kind == RoleDefinition.Kind.GROUP:
            raise invalid("Groups cannot be nested: a group cannot be a member or owner of another group.")


def normalise_start(*, start_at: datetime | None, now: datetime) -> datetime:
    if start_at is None:
        return now
    if timezone.is_naive(start_at):
        raise invalid("Times must carry a time zone.")
    if start_at.year > LATEST_END_YEAR:
        raise invalid(f"Dates after the year {LATEST_END_YEAR} are not accepted.", field="start_at")
    if (now - start_at).total_seconds() > START_TOLERANCE_SECONDS:
        raise invalid("The start cannot be in the past.", field="start_at")
    return max(start_at, now)


LATEST_END_YEAR = 9000  # far enough for "never", early enough that date arithmetic cannot overflow


def check_duration(*, start_at: datetime, end_at: datetime | None) -> None:
    if end_at is None:
        return
    if timezone.is_naive(end_at):
        raise invalid("Times must carry a time zone.")
    if end_at.year > LATEST_END_YEAR or start_at.year > LATEST_END_YEAR:
        raise invalid(f"Dates after the year {LATEST_END_YEAR} are not accepted; leave the end empty for permanent.",
                      field="end_at")
    minimum = settings.PIM_MIN_ASSIGNMENT_DURATION
    if end_at - start_at < minimum:
        raise invalid(f"An assignment must last at least {int(minimum.total_seconds() // 60)} minutes.", field="end_at")


def check_policy_expiration(*, setting: RoleSetting, kind: str, start_at: datetime, end_at: datetime | None) -> None:
    """The role setting's "allow permanent / expire after" rule for eligible or active assignments."""
    if kind == Assignment.Kind.ELIGIBLE:
        allow_permanent, code, label = setting.allow_permanent_eligible, setting.expire_eligible_after, "eligible"
    else:
        allow_permanent, code, label = setting.allow_permanent_active, setting.expire_active_after, "active"
    if allow_permanent:
        return
    limit = dict(RoleSetting.EXPIRATION_CHOICES)[code]
    if end_at is None:
        raise invalid(f"The policy of {setting.role.name} does not allow permanent {label} assignments: "
                      f"set an end date within {limit}.", field="end_at")
    if end_at.year > LATEST_END_YEAR or start_at.year > LATEST_END_YEAR:
        raise invalid(f"Dates after the year {LATEST_END_YEAR} are not accepted.", field="end_at")
    if end_at > start_at + selectors.expiration_delta(code):
        raise invalid(f"The policy of {setting.role.name} limits {label} assignments to {limit}.", field="end_at")


def check_active_assignment_policy(*, setting: RoleSetting, justification: str, actor: Actor) -> None:
    """The policy's "require justification / MFA on active assignment", for whoever makes one
    (only the system is exempt from MFA: it is a background job, not a sign-in)."""
    actor = as_actor(actor)
    if setting.require_justification_on_active_assignment and not justification.strip():
        raise invalid(f"The policy of {setting.role.name} requires a justification for active assignments.",
                      field="justification")
    if setting.require_mfa_on_active_assignment and not actor.is_system:
        check_mfa_fresh(actor=actor, what="make an active assignment of " + setting.role.name)


def check_mfa_fresh(*, actor: Actor, what: str) -> None:
    """A fresh step-up verification by the actor (`Actor.mfa_verified_at`, the one place it is read).
    A service principal cannot verify, so it never passes."""
    actor = as_actor(actor)
    window = settings.PIM_MFA_FRESHNESS
    if actor.is_service_principal:
        raise DomainError(
            f"A service principal cannot verify its identity with multifactor authentication, so it cannot "
            f"{what}: the policy requires MFA. A person has to do this.",
            code="forbidden",
            field="mfa",
        )
    verified_at = actor.mfa_verified_at
    if verified_at is None or timezone.now() - verified_at > window:
        raise DomainError(
            f"Verify your identity with multifactor authentication (within the last "
            f"{int(window.total_seconds() // 60)} minutes) to {what}.",
            code="forbidden",
            field="mfa",
        )


# The field of the refusal "verify again before this privileged administrative change": pages send the
# person through the step-up and back; the API says how to get an administrative token.
ADMIN_MFA_FIELD = "admin_mfa"


def asks_for_step_up(error: DomainError) -> bool:
    """Whether a refusal is cured by a fresh MFA verification (policy MFA or administrative MFA)."""
    return error.field in ("mfa", ADMIN_MFA_FIELD)


def check_directory_admin(*, actor: Actor, what: str) -> None:
    """Only Global and Privileged Role Administrators (or the system) may `what` ("manage connectors"):
    the one gate of the directory-wide configuration pages and their API (connectors, directory
    sources, SCIM provisioning clients)."""
    acting = as_actor(actor)
    if acting.is_system:
        return
    if not selectors.user_holds_any(user=acting, role_slugs=selectors.DIRECTORY_ADMIN_ROLES):
        raise forbidden(f"Only Global Administrators and Privileged Role Administrators {what}.")


def check_admin_mfa(*, actor: Actor, what: str) -> None:
    """The one gate of privileged administrative changes (role settings, assignments of privileged
    roles, directory and integration changes, alert settings, credentials): a person whose
    `actor.mfa_verified_at` is as fresh as activation asks for (`PIM_MFA_FRESHNESS`). The system
    (`Actor.system`) is trusted; emergency access accounts keep their exemption from MFA requirements
    (design §2); a service principal has no MFA, so it never passes: these changes need a person."""
    actor = as_actor(actor)
    if actor.is_system:
        return
    if actor.is_service_principal:
        raise forbidden(f"A service principal cannot {what}: privileged administrative changes need a person "
                        f"who verifies with multifactor authentication.")
    if actor.user.is_emergency_access:
        return
    window = settings.PIM_MFA_FRESHNESS
    verified_at = actor.mfa_verified_at
    if verified_at is None or not timezone.now() - verified_at <= window:
        raise DomainError(
            f"Verify with your authenticator again to {what}: privileged administrative changes need a "
            f"verification within the last {int(window.total_seconds() // 60)} minutes.",
            code="forbidden",
            field=ADMIN_MFA_FIELD,
        )


def assignment_is_privileged(*, role: RoleDefinition, scope: Scope) -> bool:
    """Roles labelled privileged, and memberships and ownerships of role-assignable groups (such a group
    exists to hold directory roles, so joining it is as good as being assigned them)."""
    if role.is_privileged:
        return True
    return (scope.kind == Scope.Kind.GROUP and scope.group_id is not None
            and Principal.objects.filter(pk=scope.group_id, role_assignable=True).exists())


def check_privileged_assignment_mfa(*, actor: Actor, role: RoleDefinition, scope: Scope, verb: str) -> None:
    """`check_admin_mfa` for an assignment change that grants or prolongs a privileged role."""
    if assignment_is_privileged(role=role, scope=scope):
        check_admin_mfa(actor=actor, what=f"{verb} {role.name} at {scope.path}")


def check_not_last_protected_admin(*, assignment: Assignment, new_end: datetime | None) -> None:
    """Refuse to remove, shorten or let expire the last active Global Administrator or Privileged Role
    Administrator: someone else must hold the role at least as long."""
    role = assignment.role
    if role.slug not in selectors.PROTECTED_LAST_ROLES or assignment.kind != Assignment.Kind.ACTIVE:
        return
    if new_end is not None and assignment.end_at is not None and new_end >= assignment.end_at:
        return  # not shortened
    lasting_until = new_end or timezone.now()
    others = selectors.role_held_count(
        role_slug=role.slug,
        scope=assignment.scope,
        exclude_assignment_id=assignment.pk,
        lasting_until=lasting_until if new_end is not None else None,
    )
    if others == 0:
        raise DomainError(
            f"{assignment.principal} holds the last active {role.name} assignment. Assign the role to someone "
            f"else first: the directory must never be left without a {role.name}.",
            code="conflict",
        )


def check_removal_age(*, assignment: Assignment, now: datetime, verb: str = "removed") -> None:
    minimum = settings.PIM_MIN_ASSIGNMENT_DURATION
    reference = assignment.start_at if assignment.is_activation else assignment.created_at
    if now - max(reference, assignment.created_at) < minimum:
        raise invalid(f"An assignment cannot be {verb} within {int(minimum.total_seconds() // 60)} minutes of "
                      f"its creation; try again shortly.")
