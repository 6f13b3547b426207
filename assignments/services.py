"""State changes of the directory and of assignments, as keyword-only `<entity>_<verb>` functions.

Each runs in one transaction: lock or guarded update → rules → writes → audit event → domain
events (whose consumers queue side effects in the same transaction). Refusals raise `DomainError`
and, when a person asked, are audited with outcome "denied" after the rollback.
"""

import functools
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from audit.models import AuditEvent
from audit.services import audit_event_record, audit_refusal_record
from core import domain_events
from core.actors import Actor, as_actor
from core.config_changes import config_change_guard, config_change_recorded, config_change_why
from core.errors import DomainError, FieldErrors, conflict, forbidden, invalid, not_found
from core.timezones import local_text, time_zone_valid

from . import guards, rules, selectors
from .conditions import parse_time_windows, parse_trusted_networks
from .models import (
    ApprovalStage,
    Assignment,
    ElevatedAccess,
    Principal,
    Request,
    RoleDefinition,
    RolePermission,
    RoleSetting,
    Scope,
    ScopeClosure,
    User,
    default_notification_matrix,
)


def _refusal_subject(kwargs: dict) -> dict:
    """What a refused attempt was about: an assignment, a request, or explicit arguments."""
    target = kwargs.get("assignment")
    if not isinstance(target, Assignment):
        target = kwargs.get("eligible_assignment")
    request = kwargs.get("request")
    if not isinstance(request, Request):
        request = None
    subject = target if isinstance(target, Assignment) else request
    return {
        "target": subject,
        "principal": _model_or_none(kwargs.get("principal")) or getattr(subject, "principal", None),
        "role": _model_or_none(kwargs.get("role")) or getattr(subject, "role", None),
        "scope": _model_or_none(kwargs.get("scope")) or getattr(subject, "scope", None),
        "correlation_id": request.pk if request is not None else None,
    }


def audited_refusal(action: str, *, describe: Callable[[dict], dict] = _refusal_subject) -> Callable:
    """Decorator: when a person's attempt is refused, record an audit event with outcome "denied" and
    re-raise. The event is written in its own transaction (`audit_refusal_record`), committed once the
    caller's transaction has ended even if that one rolls back. `describe(kwargs)` names what the
    attempt was about (audit_event_record's target / principal / role / scope / correlation_id); other
    apps pass their own for their own objects."""

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except DomainError as error:
                actor = kwargs.get("actor")
                if actor is not None and getattr(actor, "is_authenticated", False):
                    audit_refusal_record(action=action, actor=actor, outcome=AuditEvent.Outcome.DENIED,
                                         message=error.message, **describe(kwargs))
                raise

        return wrapper

    return decorate


def _model_or_none(value: Any) -> Any:
    """Arguments may be ids or paths (API shapes); only model instances label an audit event."""
    return value if hasattr(value, "_meta") else None


def assignment_snapshot(assignment: Assignment) -> dict:
    return {
        "id": assignment.pk,
        "principal": str(assignment.principal),
        "role": assignment.role.name,
        "scope": assignment.scope.path,
        "kind": assignment.kind,
        "status": assignment.status,
        "start_at": assignment.start_at,
        "end_at": assignment.end_at,
        "activated_from": assignment.activated_from_id,
        "origin": assignment.origin,
        "end_reason": assignment.end_reason,
    }


def _acting(actor: Actor | User, mfa_verified_at: datetime | None = None) -> Actor:
    """The actor of a service call; a step-up time passed the older way (a keyword) joins a person
    (service principals and the system never carry one)."""
    return as_actor(actor).with_mfa_verified_at(mfa_verified_at)


def _ticket(system: str, number: str) -> str:
    return f"{system} {number}".strip()


# --- Directory: scopes and principals -------------------------------------------------------------


def scope_create(*, path: str, kind: str, display_name: str, parent: Scope | None = None,
                 group: Principal | None = None, actor: Actor | User) -> Scope:
    """Create a scope and its closure rows (ancestors computed from the parent's, not by walking)."""
    actor = as_actor(actor)
    if kind != Scope.Kind.DIRECTORY and parent is None:
        raise invalid("Every scope but the directory root needs a parent.")
    if not path.startswith("/"):
        raise invalid("Scope ids start with '/'.")
    with transaction.atomic():
        if Scope.objects.filter(path=path).exists():
            raise conflict(f"A scope {path} already exists.")
        scope = Scope.objects.create(path=path, kind=kind, display_name=display_name, parent=parent, group=group)
        links = [ScopeClosure(ancestor=scope, descendant=scope, depth=0)]
        if parent is not None:
            links += [
                ScopeClosure(ancestor_id=link.ancestor_id, descendant=scope, depth=link.depth + 1)
                for link in ScopeClosure.objects.filter(descendant=parent)
            ]
        ScopeClosure.objects.bulk_create(links)
        audit_event_record(action="scope.create", actor=actor, target=scope, scope=scope,
                           after={"path": path, "kind": kind, "parent": parent.path if parent else None})
    return scope


def scope_move(*, scope: Scope, new_parent: Scope, actor: Actor | User) -> Scope:
    """Re-hang a subtree (e.g. a subscription under another management group): rewrite its closure."""
    actor = as_actor(actor)
    with transaction.atomic():
        # Both rows, in id order: two moves racing (A under B, B under A) cannot both pass the cycle check.
        locked = {s.pk: s for s in Scope.objects.select_for_update().filter(pk__in=[scope.pk, new_parent.pk])
                  .order_by("pk")}
        if scope.pk not in locked or new_parent.pk not in locked:
            raise not_found("That scope no longer exists.")
        scope, new_parent = locked[scope.pk], locked[new_parent.pk]
        if scope.kind not in SCOPE_MOVABLE_KINDS:
            raise invalid(f"Only management groups and subscriptions move: the id of a "
                          f"{scope.get_kind_display().lower()} contains its parent's.", field="parent")
        _check_parent_kind(kind=scope.kind, parent=new_parent)
        subtree = list(ScopeClosure.objects.filter(ancestor=scope).values_list("descendant_id", "depth"))
        subtree_ids = [d for d, _ in subtree]
        if new_parent.pk in subtree_ids:
            raise invalid(f"{scope.path} cannot be moved under itself or under one of its own descendants "
                          f"({new_parent.path}).", field="parent")
        old_parent = scope.parent
        # Drop links from the old ancestors (outside the subtree) to the subtree, then add the new ones.
        ScopeClosure.objects.filter(descendant_id__in=subtree_ids).exclude(ancestor_id__in=subtree_ids).delete()
        new_ancestors = list(ScopeClosure.objects.filter(descendant=new_parent).values_list("ancestor_id", "depth"))
        ScopeClosure.objects.bulk_create(
            [
                ScopeClosure(ancestor_id=a_id, descendant_id=d_id, depth=a_depth + d_depth + 1)
                for d_id, d_depth in subtree
                for a_id, a_depth in new_ancestors
            ]
        )
        Scope.objects.filter(pk=scope.pk).update(parent=new_parent)
        scope.parent = new_parent
        audit_event_record(action="scope.move", actor=actor, target=scope, scope=scope,
                           before={"parent": old_parent.path if old_parent else None},
                           after={"parent": new_parent.path})
    return scope


DIRECTORY_WRITERS = [RoleDefinition.GLOBAL_ADMINISTRATOR, RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR,
                     "user-administrator"]
APPLICATION_WRITERS = [RoleDefinition.GLOBAL_ADMINISTRATOR, RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR,
                       "application-administrator"]


def _check_directory_writer(*, actor: Actor, role_slugs: list[str], what: str, verb: str = "create") -> None:
    if not actor.is_system and not selectors.user_holds_any(user=actor, role_slugs=role_slugs):
        raise forbidden(f"You are not allowed to {verb} {what}.")


def _check_username(username: str, *, from_directory: bool) -> None:
    """A username fits the column; one typed by an administrator (page, API, bulk import) also matches
    Django's pattern (letters, digits and @ . + - _), as a sign-in name should. A name a directory sends
    (SCIM userName, LDAP attribute, OIDC claim) is kept as the directory spells it: refusing it would
    stop that person's provisioning for a character the directory allows."""
    if len(username) > User._meta.get_field("username").max_length:
        raise invalid(f"A username is at most {User._meta.get_field('username').max_length} characters.",
                      field="username")
    if not from_directory:
        try:
            User.username_validator(username)
        except ValidationError:
            raise invalid(f"{username!r} is not a valid username: use letters, digits and @ . + - _ only "
                          f"(no spaces).", field="username")


@audited_refusal("user.create")
def user_create(*, username: str, email: str = "", display_name: str = "", password: str | None = None,
                time_zone: str = "", is_emergency_access: bool = False, is_staff: bool = False,
                from_directory: bool = False, actor: Actor | User, mfa_verified_at: datetime | None = None) -> User:
    """Create a user and its principal, with their time zone when given (checked before anything is
    written, so a bad one creates nobody). Without a password the account can only sign in through SSO.
    `from_directory`: the name and address come from a directory's intake (SCIM, LDAP, OIDC), which is
    not held to the pattern administrators' names follow (`_check_username`) nor to the email check.
    Every mistake in the input is reported at once."""
    actor = _acting(actor, mfa_verified_at)
    _check_directory_writer(actor=actor, role_slugs=DIRECTORY_WRITERS, what="users")
    rules.check_admin_mfa(actor=actor, what="create users")
    username = username.replace("\x00", "").strip()
    found = FieldErrors()  # every mistake at once
    with found.check():
        if not username:
            raise invalid("A user needs a username.", field="username")
        _check_username(username, from_directory=from_directory)
    if not from_directory:  # a directory's address is its own, as its names are
        with found.check():
            email = _checked_email(email)
    with found.check():
        time_zone = _clean_text(time_zone or "", limit=64, field="time_zone", what="A time zone")
        if time_zone and not time_zone_valid(time_zone):
            raise invalid(f"{time_zone} is not a time zone (use an IANA name such as Europe/Paris).",
                          field="time_zone")
    found.raise_if_any()
    with transaction.atomic():
        if User.objects.filter(username__iexact=username).exists():
            raise conflict(f"A user named {username} already exists.")
        user = User(username=username, email=email, display_name=display_name or username, time_zone=time_zone,
                    is_emergency_access=is_emergency_access, is_staff=is_staff)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        Principal.objects.create(kind=Principal.Kind.USER, display_name=user.display_name, email=email, user=user)
        audit_event_record(action="user.create", actor=actor, target=user,
                           after={"username": username, "email": email, "emergency_access": is_emergency_access,
                                  **({"time_zone": time_zone} if time_zone else {})})
    return user


def user_set_enabled(*, user: User, enabled: bool, actor: Actor | User,
                     mfa_verified_at: datetime | None = None, justification: str = "") -> User:
    """Enable or disable a user. Disabling is offboarding: in the same transaction every live
    assignment the user holds (eligible, active, memberships, and what was activated from them) is
    ended, audited and announced, so the access check denies at commit and every target (SCIM,
    webhooks, connectors) hears of each ending through the outbox. Refused if it would end the last
    active Global or Privileged Role Administrator. Doing it twice is a no-op."""
    return _user_enabled_set(user=user, enabled=enabled, actor=actor, mfa_verified_at=mfa_verified_at,
                             justification=justification)[0]


@audited_refusal("user.set_enabled", describe=lambda kwargs: {"target": _model_or_none(kwargs.get("user"))})
def _user_enabled_set(*, user: User, enabled: bool, actor: Actor | User, mfa_verified_at: datetime | None = None,
                      justification: str = "") -> tuple[User, bool, int]:
    """`user_set_enabled`, also saying whether the state changed and how many assignments ended."""
    actor = _acting(actor, mfa_verified_at)
    _check_directory_writer(actor=actor, role_slugs=DIRECTORY_WRITERS, what="users",
                            verb="enable or disable")
    rules.check_admin_mfa(actor=actor, what="enable or disable users")
    if not enabled and actor.user is not None and actor.user.pk == user.pk:
        raise forbidden("You cannot disable your own account.")
    now = timezone.now()
    ended = 0
    with transaction.atomic():
        # The user row first (the guard against a double apply), then their assignments in id order.
        changed = User.objects.filter(pk=user.pk, is_active=not enabled).update(is_active=enabled)
        if changed:
            Principal.objects.filter(user=user).update(enabled=enabled)
            audit_event_record(action="user.enable" if enabled else "user.disable", actor=actor, target=user,
                               justification=justification)
            if not enabled:
                ended = _end_everything_held(user=user, now=now, actor=actor)
    user.refresh_from_db()
    return user, bool(changed), ended


def _end_everything_held(*, user: User, now: datetime, actor: Actor) -> int:
    """End every live assignment of a user being disabled (the caller holds the transaction); returns
    how many were live (activations end with the eligibility they came from, and count)."""
    held = list(Assignment.objects.select_for_update(of=("self",)).select_related("principal", "role", "scope")
                .filter(principal__user=user, status=Assignment.Status.LIVE).order_by("pk"))
    for assignment in held:
        rules.check_not_last_protected_admin(assignment=assignment, new_end=None)
    for assignment in held:
        before = assignment_snapshot(assignment)
        if not assignment_end(assignment=assignment, reason=Assignment.EndReason.PRINCIPAL_DISABLED, now=now,
                              actor=actor):
            continue  # ended already, with the eligibility it came from
        assignment.refresh_from_db()
        audit_event_record(action="assignment.end", actor=actor, target=assignment, principal=assignment.principal,
                           role=assignment.role, scope=assignment.scope, before=before,
                           after=assignment_snapshot(assignment), message="Ended: the user was disabled.")
        domain_events.emit("assignment.removed", assignment=assignment, request=None, actor=actor.user)
    return len(held)


@audited_refusal("group.create")
def group_create(*, display_name: str, role_assignable: bool = False, description: str = "", email: str = "",
                 actor: Actor | User, mfa_verified_at: datetime | None = None) -> Principal:
    """Create a security group and its scope (`/groups/<object id>`). `role_assignable` is fixed here;
    at most PIM_MAX_ROLE_ASSIGNABLE_GROUPS such groups exist."""
    actor = _acting(actor, mfa_verified_at)
    _check_directory_writer(actor=actor, role_slugs=DIRECTORY_WRITERS, what="groups")
    if role_assignable:
        _check_directory_writer(actor=actor, role_slugs=selectors.DIRECTORY_ADMIN_ROLES,
                                what="role-assignable groups (Global or Privileged Role Administrators only)")
    if not display_name.replace("\x00", "").strip():
        raise invalid("A group needs a name.", field="display_name")
    rules.check_admin_mfa(actor=actor, what="create groups")
    with transaction.atomic():
        if role_assignable:
            # Serialise creators of role-assignable groups so the limit holds under concurrency.
            Scope.objects.select_for_update().get(path=selectors.ROOT_PATH)
            limit = settings.PIM_MAX_ROLE_ASSIGNABLE_GROUPS
            if Principal.objects.filter(kind=Principal.Kind.GROUP, role_assignable=True).count() >= limit:
                raise conflict(f"The directory already has {limit} role-assignable groups, the maximum.")
        group = Principal.objects.create(kind=Principal.Kind.GROUP, display_name=display_name,
                                         role_assignable=role_assignable, description=description, email=email)
        scope_create(path=f"/groups/{group.object_id}", kind=Scope.Kind.GROUP, display_name=display_name,
                     parent=selectors.scope_root(), group=group, actor=actor)
        audit_event_record(action="group.create", actor=actor, target=group, principal=group,
                           after={"display_name": display_name, "role_assignable": role_assignable})
    return group


@audited_refusal("service_principal.create")
def service_principal_create(*, display_name: str, description: str = "", actor: Actor | User,
                             mfa_verified_at: datetime | None = None) -> Principal:
    import uuid

    actor = _acting(actor, mfa_verified_at)
    _check_directory_writer(actor=actor, role_slugs=APPLICATION_WRITERS, what="service principals")
    if not display_name.replace("\x00", "").strip():
        raise invalid("A service principal needs a name.", field="display_name")
    rules.check_admin_mfa(actor=actor, what="create service principals")
    with transaction.atomic():
        sp = Principal.objects.create(kind=Principal.Kind.SERVICE_PRINCIPAL, display_name=display_name,
                                      description=description, app_id=uuid.uuid4())
        audit_event_record(action="service_principal.create", actor=actor, target=sp, principal=sp,
                           after={"display_name": display_name, "app_id": str(sp.app_id)})
    return sp


# --- Roles and role settings ----------------------------------------------------------------------


def role_permission_pattern(pattern: str) -> str:
    """`*` → SQL LIKE `%`, with LIKE's own wildcards escaped; lower case (actions are case-insensitive)."""
    escaped = pattern.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%")


def role_definition_create(*, slug: str, name: str, kind: str, description: str = "", actions: Iterable[str] = (),
                           not_actions: Iterable[str] = (), is_privileged: bool = False, is_builtin: bool = False,
                           actor: Actor | User, mfa_verified_at: datetime | None = None) -> RoleDefinition:
    """Create a role (custom roles need a directory administrator) with its permission patterns."""
    actor = _acting(actor, mfa_verified_at)
    if not actor.is_system and not selectors.user_holds_any(user=actor, role_slugs=selectors.DIRECTORY_ADMIN_ROLES):
        raise forbidden("Only Global Administrators and Privileged Role Administrators create roles.")
    actions, not_actions = list(actions), list(not_actions)
    if not actions:
        raise invalid("A role needs at least one permitted action.")
    rules.check_admin_mfa(actor=actor, what="create roles")
    with transaction.atomic():
        if RoleDefinition.objects.filter(slug=slug).exists():
            raise conflict(f"A role {slug} already exists.")
        role = RoleDefinition.objects.create(slug=slug, name=name, kind=kind, description=description,
                                             is_builtin=is_builtin, is_privileged=is_privileged)
        RolePermission.objects.bulk_create(
            [RolePermission(role=role, pattern=p, like_pattern=role_permission_pattern(p)) for p in actions]
            + [RolePermission(role=role, pattern=p, like_pattern=role_permission_pattern(p), is_not_action=True)
               for p in not_actions]
        )
        audit_event_record(action="role.create", actor=actor, target=role, role=role,
                           after={"slug": slug, "kind": kind, "actions": actions, "not_actions": not_actions})
    return role


ROLE_SETTING_FIELDS = (
    "max_activation_minutes", "require_mfa_on_activation", "require_justification_on_activation",
    "require_ticket_on_activation", "require_approval", "approvals_required", "approval_window_minutes",
    "trusted_networks", "allowed_time_windows", "allowed_time_windows_zone", "allow_permanent_eligible",
    "expire_eligible_after", "allow_permanent_active", "expire_active_after", "require_mfa_on_active_assignment",
    "require_justification_on_active_assignment", "notifications", "allow_service_principal_activation",
)


def role_setting_validate(*, values: dict) -> None:
    """Every field rule of a role setting, without writing: one `DomainError` naming every mistake of
    the submission (`errors` per field), so a form shows them all at once. `role_setting_update` runs
    it again; a page may call it early with the fields its form could parse."""
    found = FieldErrors()
    minutes = values.get("max_activation_minutes")
    if minutes is not None and not 60 <= int(minutes) <= 24 * 60:
        found.add("max_activation_minutes", "The maximum activation duration must be between 1 and 24 hours.")
    if values.get("approvals_required") is not None and not 1 <= int(values["approvals_required"]) <= 25:
        found.add("approvals_required", "Approvals needed must be between 1 and 25.")
    window = values.get("approval_window_minutes")
    if window is not None and not 60 <= int(window) <= 14 * 24 * 60:
        found.add("approval_window_minutes", "The approval window must be between 1 hour and 14 days.")
    codes = dict(RoleSetting.EXPIRATION_CHOICES)
    for name in ("expire_eligible_after", "expire_active_after"):
        if name in values and values[name] not in codes:
            found.add(name, f"Choose one of {', '.join(codes.values())}.")
    if "trusted_networks" in values:
        with found.check():
            parse_trusted_networks(values["trusted_networks"])
    if "allowed_time_windows" in values:
        with found.check():
            parse_time_windows(values["allowed_time_windows"])
    if "allowed_time_windows_zone" in values and not time_zone_valid(str(values["allowed_time_windows_zone"])):
        found.add("allowed_time_windows_zone", f"{values['allowed_time_windows_zone']!r} is not a time zone: use an "
                                               "IANA name such as Europe/Paris, or UTC.")
    if "notifications" in values:
        with found.check():
            _validate_notification_matrix(values["notifications"])
    found.raise_if_any()


def _validate_notification_matrix(matrix) -> None:
    template = default_notification_matrix()
    if not isinstance(matrix, dict) or set(matrix) != set(template):
        raise invalid("The notification matrix must name every event.", field="notifications")
    for event, row in matrix.items():
        if not isinstance(row, dict) or set(row) != set(template[event]):
            raise invalid(f"The notification row {event} must name every recipient.", field="notifications")
        for cell in row.values():
            if set(cell) != {"default_recipients", "extra_addresses", "critical_only"}:
                raise invalid("Each notification cell has default_recipients, extra_addresses, critical_only.",
                              field="notifications")
            for address in cell["extra_addresses"]:
                if "@" not in str(address):
                    raise invalid(f"{address} is not an email address.", field="notifications")


def role_setting_config_key(*, role: RoleDefinition, scope: Scope) -> str:
    """How the version history names the policy of `role` at `scope` (`core.config_changes`)."""
    return f"{role.slug}@{scope.path}"


@audited_refusal("role_setting.update")
def role_setting_update(*, actor: Actor | User, role: RoleDefinition, scope: Scope, values: dict,
                        approver_ids: list[int] | None = None, mfa_verified_at: datetime | None = None,
                        reason: str | None = None) -> RoleSetting:
    """Create or change the policy of `role` at `scope`. The setting at the root `/` is the role's
    default everywhere; resource and group roles may be overridden at a scope or a group. `reason`: why,
    as the person changing it says (required; None where no one is asked: `core.config_changes`)."""
    actor = _acting(actor, mfa_verified_at)
    if not scope.is_root:
        rules.check_role_fits_scope(role=role, scope=scope)
    rules.check_actor_can_manage(actor=actor, role=role, scope=scope)
    reason = config_change_why(reason, what=f"change the settings of {role.name}")
    unknown = set(values) - set(ROLE_SETTING_FIELDS)
    if unknown:
        raise invalid(f"Unknown setting fields: {', '.join(sorted(unknown))}.")
    role_setting_validate(values=values)
    rules.check_admin_mfa(actor=actor, what=f"change the settings of {role.name}")
    with transaction.atomic():
        setting, created = RoleSetting.objects.select_for_update().get_or_create(role=role, scope=scope)
        config_key = role_setting_config_key(role=role, scope=scope)
        config_change_guard(kind="role_setting", key=config_key, scope_path=scope.path, actor=actor,
                            existed=not created)
        before = {name: getattr(setting, name) for name in ROLE_SETTING_FIELDS}
        before["approvers"] = sorted(setting.approvers.values_list("pk", flat=True)) if not created else []
        approvers = None
        if approver_ids is not None:
            approvers = list(Principal.objects.filter(pk__in=approver_ids,
                                                      kind__in=[Principal.Kind.USER, Principal.Kind.GROUP]))
            if len(approvers) != len(set(approver_ids)):
                raise invalid("Approvers must be existing users or groups.", field="approvers")
        after = {**before, **values}
        if approvers is not None:
            after["approvers"] = sorted(a.pk for a in approvers)
        changed = {k: {"before": before.get(k), "after": v} for k, v in after.items() if before.get(k) != v}
        if not changed and not created:
            return setting  # nothing to change: no write, no audit event
        for name, value in values.items():
            setattr(setting, name, value)
        setting.updated_by = actor.user
        setting.save()
        if approvers is not None:
            setting.approvers.set(approvers)
        config_change_recorded(kind="role_setting", key=config_key, actor=actor, reason=reason)
        audit_event_record(action="role_setting.update", actor=actor, target=setting, role=role, scope=scope,
                           message=reason,
                           before={k: c["before"] for k, c in changed.items()},
                           after={k: c["after"] for k, c in changed.items()})
        domain_events.emit("role_setting.updated", key=f"setting:{setting.pk}:{int(timezone.now().timestamp() * 1e6)}",
                           actor=actor.user, data={"role_setting": {
                               "id": setting.pk, "role": role.slug, "scope": scope.path, "created": created,
                               "changed": {k: {"before": c["before"], "after": c["after"]}
                                           for k, c in changed.items()}}})
    return setting


MAX_APPROVAL_STAGES = 5
STAGE_FIELDS = ("name", "approvers", "owners_of_scope", "approvals_required", "timeout_minutes",
                "escalate_on_timeout", "fallback_approvers", "fallback_approvals_required", "reminder_every_minutes")
_STAGE_TIMEOUT_MINUTES = (15, 14 * 24 * 60)


def _stage_principals(ids, *, field: str, found: FieldErrors) -> list[Principal]:
    ids = list(dict.fromkeys(int(i) for i in ids or []))
    principals = list(Principal.objects.filter(pk__in=ids, kind__in=[Principal.Kind.USER, Principal.Kind.GROUP]))
    if len(principals) != len(ids):
        found.add(field, "Approvers must be existing users or groups.")
    return principals


def _stage_check(index: int, stage: dict, found: FieldErrors) -> dict:
    """One stage's rules; returns it normalised (principals loaded). Field names: `stages.<n>.<field>`."""
    at = f"stages.{index}"
    unknown = set(stage) - set(STAGE_FIELDS)
    if unknown:
        found.add(at, f"Unknown stage fields: {', '.join(sorted(unknown))}.")
    clean = {"name": str(stage.get("name") or "").strip()[:100],
             "owners_of_scope": bool(stage.get("owners_of_scope", False)),
             "escalate_on_timeout": bool(stage.get("escalate_on_timeout", False))}
    for name, default, low, high in (("approvals_required", 1, 1, 25), ("fallback_approvals_required", 1, 1, 25),
                                     ("timeout_minutes", 24 * 60, *_STAGE_TIMEOUT_MINUTES)):
        try:
            clean[name] = int(stage.get(name) if stage.get(name) is not None else default)
        except (TypeError, ValueError):
            found.add(f"{at}.{name}", "Give a whole number.")
            clean[name] = default
            continue
        if not low <= clean[name] <= high:
            found.add(f"{at}.{name}", f"Must be between {low} and {high}.")
    reminder = stage.get("reminder_every_minutes")
    try:
        clean["reminder_every_minutes"] = None if reminder in (None, "") else int(reminder)
    except (TypeError, ValueError):
        found.add(f"{at}.reminder_every_minutes", "Give a whole number of minutes (0: no reminders).")
        clean["reminder_every_minutes"] = None
    if clean["reminder_every_minutes"] is not None and not (
            clean["reminder_every_minutes"] == 0 or 15 <= clean["reminder_every_minutes"] <= 7 * 24 * 60):
        found.add(f"{at}.reminder_every_minutes", "Remind every 15 minutes to 7 days, or 0 for no reminders.")
    clean["approvers"] = _stage_principals(stage.get("approvers"), field=f"{at}.approvers", found=found)
    clean["fallback_approvers"] = _stage_principals(stage.get("fallback_approvers"), field=f"{at}.fallback_approvers",
                                                    found=found)
    if not clean["approvers"] and not clean["owners_of_scope"]:
        found.add(f"{at}.approvers", "Name the stage's approvers (users or groups), or let the scope's owners decide.")
    # N of M: with only users named, M is known now; with groups or owners it is known when a request waits.
    only_users = not clean["owners_of_scope"] and all(p.is_user for p in clean["approvers"])
    if clean["approvers"] and only_users and clean["approvals_required"] > len(clean["approvers"]):
        found.add(f"{at}.approvals_required", f"The stage names {len(clean['approvers'])} approver(s): it cannot "
                                              f"need {clean['approvals_required']} approvals.")
    if clean["escalate_on_timeout"] and not clean["fallback_approvers"]:
        found.add(f"{at}.fallback_approvers", "A stage that escalates on time-out needs its fallback approvers.")
    fallback_users = all(p.is_user for p in clean["fallback_approvers"])
    if clean["escalate_on_timeout"] and clean["fallback_approvers"] and fallback_users and \
            clean["fallback_approvals_required"] > len(clean["fallback_approvers"]):
        found.add(f"{at}.fallback_approvals_required", "More fallback approvals needed than fallback approvers named.")
    return clean


def _stages_snapshot(stages) -> list[dict]:
    return [{"position": st.position, "name": st.name, "approvers": sorted(p.pk for p in st.approvers.all()),
             "owners_of_scope": st.owners_of_scope, "approvals_required": st.approvals_required,
             "timeout_minutes": st.timeout_minutes, "escalate_on_timeout": st.escalate_on_timeout,
             "fallback_approvers": sorted(p.pk for p in st.fallback_approvers.all()),
             "fallback_approvals_required": st.fallback_approvals_required,
             "reminder_every_minutes": st.reminder_every_minutes} for st in stages]


@audited_refusal("role_setting.stages")
def role_setting_stages_set(*, actor: Actor | User, role: RoleDefinition, scope: Scope, stages: list[dict],
                            mfa_verified_at: datetime | None = None, reason: str | None = None
                            ) -> list[ApprovalStage]:
    """Replace the ordered approval stages of the policy of `role` at `scope` (an empty list: back to
    the single stage of the setting's own approvers, approvals needed and window). Same rights and
    step-up as `role_setting_update`; one audit event with the stages before and after; no write and
    no event when nothing changes. Stages are rewritten in place by position, so requests waiting at a
    stage keep waiting there under its new rules; removing a stage a request waits at is refused.
    `reason` as for `role_setting_update`."""
    actor = _acting(actor, mfa_verified_at)
    if not scope.is_root:
        rules.check_role_fits_scope(role=role, scope=scope)
    rules.check_actor_can_manage(actor=actor, role=role, scope=scope)
    reason = config_change_why(reason, what=f"change the approval stages of {role.name}")
    if not isinstance(stages, list) or not all(isinstance(st, dict) for st in stages):
        raise invalid("Stages are a list of objects.", field="stages")
    if len(stages) > MAX_APPROVAL_STAGES:
        raise invalid(f"At most {MAX_APPROVAL_STAGES} approval stages.", field="stages")
    found = FieldErrors()
    wanted = [_stage_check(i, st, found) for i, st in enumerate(stages, start=1)]
    found.raise_if_any()
    rules.check_admin_mfa(actor=actor, what=f"change the approval stages of {role.name}")
    with transaction.atomic():
        setting = RoleSetting.objects.select_for_update().filter(role=role, scope=scope).first()
        if setting is None:
            # Creating one here would replace the inherited policy with the built-in defaults.
            raise conflict(f"There is no policy of {role.name} at {scope.path} yet: save one first, then its stages.")
        current = list(ApprovalStage.objects.select_for_update().filter(setting=setting).order_by("position"))
        config_key = role_setting_config_key(role=role, scope=scope)
        # Versioned like the setting's fields, and under the same dual control (core.config_changes).
        config_change_guard(kind="approval_stages", key=config_key, scope_path=scope.path, actor=actor,
                            existed=bool(current))
        before = _stages_snapshot(current)
        dropped = current[len(wanted):]
        waiting = Request.objects.filter(approval_stage__in=dropped, status=Request.Status.PENDING_APPROVAL).count()
        if waiting:
            raise conflict(f"{waiting} request(s) wait at a stage this removes: let them be decided first, or keep "
                           f"{len(current)} stages.")
        planned = [{"position": position, **{name: values[name] for name in STAGE_FIELDS},
                    "approvers": sorted(p.pk for p in values["approvers"]),
                    "fallback_approvers": sorted(p.pk for p in values["fallback_approvers"])
                    if values["escalate_on_timeout"] else []}
                   for position, values in enumerate(wanted, start=1)]
        if planned == before:
            return current  # nothing to change: no write, no audit event
        ApprovalStage.objects.filter(pk__in=[st.pk for st in dropped]).delete()
        result = []
        for position, values in enumerate(wanted, start=1):
            stage = current[position - 1] if position <= len(current) else ApprovalStage(setting=setting,
                                                                                          position=position)
            for name in STAGE_FIELDS:
                if name not in ("approvers", "fallback_approvers"):
                    setattr(stage, name, values[name])
            stage.save()
            stage.approvers.set(values["approvers"])
            stage.fallback_approvers.set(values["fallback_approvers"] if values["escalate_on_timeout"] else [])
            result.append(stage)
        after = _stages_snapshot(result)
        setting.updated_by = actor.user
        setting.save(update_fields=["updated_by", "updated_at"])
        config_change_recorded(kind="approval_stages", key=config_key, actor=actor, reason=reason)
        audit_event_record(action="role_setting.stages", actor=actor, target=setting, role=role, scope=scope,
                           message=reason,
                           before={"stages": before}, after={"stages": after})
        domain_events.emit("role_setting.updated", key=f"setting:{setting.pk}:{int(timezone.now().timestamp() * 1e6)}",
                           actor=actor.user, data={"role_setting": {
                               "id": setting.pk, "role": role.slug, "scope": scope.path, "created": False,
                               "changed": {"stages": {"before": before, "after": after}}}})
    return result


# --- Assignments: every transition of assignment state ---------------------------------------------
#
# This section is the one writer of `Assignment` rows (besides the set-based expiry sweep in
# `sweeps.py`). Each transition locks the rows it depends on (the target, and the eligibility an
# activation comes from) with SELECT … FOR UPDATE, checks every rule under that lock, writes with a
# guarded update (acting only if it changed the row), and records its audit event and domain event
# in the same transaction. Approvals, reviews and alerts call these; the `*_validate` functions are
# pure checks that forms and the request pipeline may run early for quick errors.

_EXPIRY_SWEEP = Actor.system("expiry-sweep")


def _admin_request(*, action: str, actor: Actor, assignment: Assignment, justification: str = "",
                   ticket_system: str = "", ticket_number: str = "", now: datetime) -> Request:
    return Request.objects.create(
        action=action,
        status=Request.Status.PROVISIONED if assignment.start_at <= now else Request.Status.SCHEDULED,
        requested_by=actor.user,
        principal=assignment.principal,
        role=assignment.role,
        scope=assignment.scope,
        kind=assignment.kind,
        assignment=assignment,
        start_at=assignment.start_at,
        end_at=assignment.end_at,
        justification=justification,
        ticket_system=ticket_system,
        ticket_number=ticket_number,
        created_at=now,
        decided_at=now,
        provisioned_at=now,
    )


def _request_provisioned(request: Request, *, now: datetime, **fields) -> None:
    """Mark an approved request as carried out by this transition (same transaction)."""
    Request.objects.filter(pk=request.pk).update(status=Request.Status.PROVISIONED, provisioned_at=now,
                                                 updated_at=now, **fields)
    request.status, request.provisioned_at = Request.Status.PROVISIONED, now
    for name, value in fields.items():
        setattr(request, name, value)


def assignment_end_stale(*, principal: Principal, role: RoleDefinition, scope: Scope, kind: str, now: datetime) -> int:
    """Mark live assignments of this (principal, role, scope, kind) whose end has passed as expired,
    so that a new one can be created before the sweep gets to them. Audited like the sweep."""
    stale = list(Assignment.objects.select_for_update().filter(
        principal=principal, role=role, scope=scope, kind=kind, status=Assignment.Status.LIVE, end_at__lte=now))
    for assignment in stale:
        if Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.LIVE).update(
                status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.EXPIRED, ended_at=assignment.end_at):
            audit_event_record(action="assignment.expire", actor=_EXPIRY_SWEEP, target=assignment,
                               principal=principal, role=role, scope=scope, after={"end_at": assignment.end_at})
            domain_events.emit("assignment.expired", assignment=assignment)
    return len(stale)


def assignment_insert(*, principal: Principal, role: RoleDefinition, scope: Scope, kind: str, start_at: datetime,
                      end_at: datetime | None, actor: Actor | User, now: datetime, justification: str = "",
                      ticket_system: str = "", ticket_number: str = "", activated_from: Assignment | None = None,
                      origin: str = Assignment.Origin.PIM) -> Assignment:
    """Insert one live assignment, turning the uniqueness constraint into a clear conflict.
    Callers run the rules first and hold a transaction, and let the conflict leave their atomic
    block (which rolls back to its own savepoint or ends the transaction): so no savepoint here."""
    actor = as_actor(actor)
    assignment_end_stale(principal=principal, role=role, scope=scope, kind=kind, now=now)
    try:
        return Assignment.objects.create(
            principal=principal, role=role, scope=scope, kind=kind, start_at=start_at, end_at=end_at,
            justification=justification, ticket_system=ticket_system, ticket_number=ticket_number,
            activated_from=activated_from, created_by=actor.user, created_at=now, origin=origin,
        )
    except IntegrityError:
        label = "an eligible" if kind == Assignment.Kind.ELIGIBLE else "an active"
        raise conflict(f"{principal} already has {label} assignment of {role.name} at {scope.path}.")


def assignment_create_validate(*, actor: Actor | User, principal: Principal, role: RoleDefinition, scope: Scope,
                               kind: str, start_at: datetime, end_at: datetime | None, justification: str = "",
                               mfa_verified_at: datetime | None = None) -> None:
    """Every rule of an admin assignment, without writing (forms may call it for quick errors;
    `assignment_create` runs it again inside its transaction)."""
    actor = _acting(actor, mfa_verified_at)
    if kind not in Assignment.Kind.values:
        raise invalid("Choose eligible or active.", field="kind")
    rules.check_role_fits_scope(role=role, scope=scope)
    rules.check_actor_can_manage(actor=actor, role=role, scope=scope)
    rules.check_principal_can_hold(principal=principal, role=role, scope=scope, kind=kind, end_at=end_at)
    rules.check_duration(start_at=start_at, end_at=end_at)
    setting = selectors.role_setting_effective(role=role, scope=scope)
    rules.check_policy_expiration(setting=setting, kind=kind, start_at=start_at, end_at=end_at)
    if kind == Assignment.Kind.ACTIVE:
        rules.check_active_assignment_policy(setting=setting, justification=justification, actor=actor)
    rules.check_privileged_assignment_mfa(actor=actor, role=role, scope=scope, verb="assign")


@audited_refusal("assignment.create")
def assignment_create(*, actor: Actor | User, principal: Principal, role: RoleDefinition, scope: Scope, kind: str,
                      start_at: datetime | None = None, end_at: datetime | None = None, justification: str = "",
                      ticket_system: str = "", ticket_number: str = "", mfa_verified_at: datetime | None = None,
                      origin: str = Assignment.Origin.PIM) -> Assignment:
    """Admin assign: make `principal` eligible for, or active in, `role` at `scope`."""
    actor = _acting(actor, mfa_verified_at)
    if kind not in Assignment.Kind.values:
        raise invalid("Choose eligible or active.", field="kind")
    now = timezone.now()
    start_at = rules.normalise_start(start_at=start_at, now=now)
    with transaction.atomic():
        # The principal's row is the one this depends on (enabled, kind): lock it, then the rules.
        principal = Principal.objects.select_for_update().get(pk=principal.pk)
        assignment_create_validate(actor=actor, principal=principal, role=role, scope=scope, kind=kind,
                                   start_at=start_at, end_at=end_at, justification=justification)
        guards.guards_run(guards.ASSIGNMENT_CREATE, principal=principal, role=role, scope=scope, kind=kind,
                          start_at=start_at, end_at=end_at, actor=actor)  # separation of duties
        assignment = assignment_insert(principal=principal, role=role, scope=scope, kind=kind, start_at=start_at,
                                       end_at=end_at, actor=actor, now=now, justification=justification,
                                       ticket_system=ticket_system, ticket_number=ticket_number, origin=origin)
        request = _admin_request(action=Request.Action.ADMIN_ASSIGN, actor=actor, assignment=assignment,
                                 justification=justification, ticket_system=ticket_system,
                                 ticket_number=ticket_number, now=now)
        audit_event_record(action="assignment.create", actor=actor, target=assignment, principal=principal,
                           role=role, scope=scope, justification=justification,
                           ticket=_ticket(ticket_system, ticket_number), after=assignment_snapshot(assignment),
                           correlation_id=request.pk)
        domain_events.emit("assignment.created", assignment=assignment, request=request, actor=actor.user)
    return assignment


# Row locks of an assignment transition: the assignment and its principal (enabled, kind), never the
# role definition or the scope it joins. FOR UPDATE without OF locks every joined row, so every
# activation of one role at one scope queued behind the others on those two shared rows.
_LOCK_OF = ("self", "principal")


def _lock_live(assignment: Assignment | int) -> Assignment:
    pk = assignment if isinstance(assignment, int) else assignment.pk
    locked = (Assignment.objects.select_for_update(of=_LOCK_OF).select_related("principal", "role", "scope")
              .filter(pk=pk).first())
    if locked is None:
        raise not_found("That assignment no longer exists.")
    if locked.status != Assignment.Status.LIVE:
        raise conflict("That assignment has already ended.")
    return locked


def _lock_related(assignment: Assignment) -> Assignment:
    """Lock one row without joins (PostgreSQL refuses FOR UPDATE across nullable joins); the related
    rows are taken from the caller's copy."""
    locked = Assignment.objects.select_for_update().filter(pk=assignment.pk).first()
    if locked is None:
        raise not_found("That assignment no longer exists.")
    locked.principal, locked.role, locked.scope = assignment.principal, assignment.role, assignment.scope
    return locked


@audited_refusal("assignment.update")
def assignment_update(*, actor: Actor | User, assignment: Assignment, start_at: datetime | None,
                      end_at: datetime | None, justification: str = "", mfa_verified_at: datetime | None = None
                      ) -> Assignment:
    """Change the start or end of a live assignment (not of an activation: the holder controls those)."""
    actor = _acting(actor, mfa_verified_at)
    rules.check_actor_can_manage(actor=actor, role=assignment.role, scope=assignment.scope)
    rules.check_privileged_assignment_mfa(actor=actor, role=assignment.role, scope=assignment.scope,
                                          verb="change the dates of")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_live(assignment)
        rules.check_actor_can_manage(actor=actor, role=locked.role, scope=locked.scope)
        if locked.is_activation:
            raise invalid("Activations are changed by their holder (deactivate or extend), not edited.")
        before = assignment_snapshot(locked)
        new_start = locked.start_at if locked.start_at <= now else rules.normalise_start(start_at=start_at, now=now)
        rules.check_principal_can_hold(principal=locked.principal, role=locked.role, scope=locked.scope,
                                       kind=locked.kind, end_at=end_at)
        rules.check_duration(start_at=new_start, end_at=end_at)
        if end_at is not None and end_at <= now:
            raise invalid("The end must be in the future; to end it now, remove the assignment.", field="end_at")
        setting = selectors.role_setting_effective(role=locked.role, scope=locked.scope)
        rules.check_policy_expiration(setting=setting, kind=locked.kind, start_at=new_start, end_at=end_at)
        rules.check_not_last_protected_admin(assignment=locked, new_end=end_at)
        guards.guards_run(guards.ASSIGNMENT_CHANGE, assignment=locked, start_at=new_start, end_at=end_at, actor=actor,
                          change="update")  # separation of duties
        if not Assignment.objects.filter(pk=locked.pk, status=Assignment.Status.LIVE).update(
                start_at=new_start, end_at=end_at):
            raise conflict("That assignment has already ended.")
        locked.start_at, locked.end_at = new_start, end_at
        request = _admin_request(action=Request.Action.ADMIN_UPDATE, actor=actor, assignment=locked,
                                 justification=justification, now=now)
        audit_event_record(action="assignment.update", actor=actor, target=locked, principal=locked.principal,
                           role=locked.role, scope=locked.scope, justification=justification, before=before,
                           after=assignment_snapshot(locked), correlation_id=request.pk)
        domain_events.emit("assignment.updated", assignment=locked, request=request, actor=actor.user,
                           before=before)
        if locked.kind == Assignment.Kind.ELIGIBLE:
            _fit_activations_to_eligibility(eligible=locked, now=now, actor=actor, request=request)
        elif locked.role.slug == RoleDefinition.GROUP_MEMBER:
            _fit_activations_to_membership(membership=locked, actor=actor, request=request)
    return locked


def _fit_activations_to_eligibility(*, eligible: Assignment, now: datetime, actor: Actor, request: Request) -> None:
    """After an eligibility's window changed (under its lock, in the same transaction): no live
    activation of it may outlive it. One that would end later is cut to the eligibility's new end;
    one that now falls wholly outside the window (a scheduled one, not begun) is ended. Each is audited
    and announced on its own. A cut that would shorten the last Global / Privileged Role
    Administrator's activation refuses the change. Lock order: the eligibility (held), then its
    activations, as on removal."""
    for activation in (Assignment.objects.select_for_update(of=("self",))
                       .select_related("principal", "role", "scope")
                       .filter(activated_from=eligible, status=Assignment.Status.LIVE)):
        outside = activation.start_at < eligible.start_at or (
            eligible.end_at is not None and activation.start_at >= eligible.end_at)
        if outside:
            if Assignment.objects.filter(pk=activation.pk, status=Assignment.Status.LIVE).update(
                    status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.ELIGIBILITY_ENDED,
                    ended_at=now, end_at=_end_clamped(activation, now)):
                audit_event_record(action="assignment.end", actor=actor, target=activation,
                                   principal=activation.principal, role=activation.role, scope=activation.scope,
                                   before=assignment_snapshot(activation), correlation_id=request.pk,
                                   message="Activation ended: it fell outside the changed window of its eligibility.")
                activation.status = Assignment.Status.ENDED
                activation.end_reason = Assignment.EndReason.ELIGIBILITY_ENDED
                domain_events.emit("assignment.removed", assignment=activation, request=None, actor=actor.user)
            continue
        if eligible.end_at is None or (activation.end_at is not None and activation.end_at <= eligible.end_at):
            continue
        # A cut is a shortening: never of the last Global / Privileged Role Administrator's activation
        # (the whole change is refused and rolled back).
        rules.check_not_last_protected_admin(assignment=activation, new_end=eligible.end_at)
        _cut_activation(activation, end_at=eligible.end_at, actor=actor, request=request,
                        message=f"Activation cut to the new end of its eligibility, {_fmt(eligible.end_at)}.")


def _cut_activation(activation: Assignment, *, end_at: datetime, actor: Actor, request: Request, message: str) -> None:
    """Move a locked live activation's end earlier, guarded, audited and announced."""
    before = assignment_snapshot(activation)
    if Assignment.objects.filter(pk=activation.pk, status=Assignment.Status.LIVE).update(end_at=end_at):
        activation.end_at = end_at
        audit_event_record(action="assignment.cut", actor=actor, target=activation, principal=activation.principal,
                           role=activation.role, scope=activation.scope, before=before,
                           after=assignment_snapshot(activation), correlation_id=request.pk, message=message)
        domain_events.emit("assignment.updated", assignment=activation, request=request, actor=actor.user,
                           before=before)


def _fit_activations_to_membership(*, membership: Assignment, actor: Actor, request: Request) -> None:
    """After a membership's end moved earlier (under its lock): what its holder activated through the
    group is cut to the new end, audited and announced, like activations of a shortened eligibility.
    Lock order: the membership (held), then these activations, as on removal."""
    if membership.end_at is None or membership.scope.group_id is None:
        return
    for activation in (_activations_through_membership(principal_id=membership.principal_id,
                                                       group_id=membership.scope.group_id)
                       .filter(Q(end_at__isnull=True) | Q(end_at__gt=membership.end_at))
                       .select_related("principal", "role", "scope").select_for_update(of=("self",))):
        rules.check_not_last_protected_admin(assignment=activation, new_end=membership.end_at)
        if activation.start_at >= membership.end_at:  # scheduled to begin after the membership ends
            _end_live_activations([activation], reason=Assignment.EndReason.MEMBERSHIP_ENDED, now=timezone.now(),
                                  actor=actor, message="Activation ended: it would begin after the group "
                                                       "membership it depends on ends.")
            continue
        _cut_activation(activation, end_at=membership.end_at, actor=actor, request=request,
                        message=f"Activation cut to the new end of the group membership, {_fmt(membership.end_at)}.")


def assignment_end(*, assignment: Assignment, reason: str, now: datetime, actor: Actor | User) -> bool:
    """Guarded end of a live assignment (and of the activations that came from it). True if this call
    ended it; False if it was already ended (a double submit is a no-op). The caller holds the lock."""
    actor = as_actor(actor)
    changed = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.LIVE).update(
        status=Assignment.Status.ENDED, end_reason=reason, ended_at=now,
        end_at=_end_clamped(assignment, now),
    )
    if not changed:
        return False
    if assignment.kind == Assignment.Kind.ELIGIBLE:
        _end_live_activations(
            Assignment.objects.select_for_update().filter(activated_from=assignment, status=Assignment.Status.LIVE),
            reason=Assignment.EndReason.ELIGIBILITY_ENDED, now=now, actor=actor,
            message="Activation ended with the eligible assignment it came from.")
    elif assignment.kind == Assignment.Kind.ACTIVE and assignment.role.slug == RoleDefinition.GROUP_MEMBER:
        _end_activations_through_membership(membership=assignment, now=now, actor=actor)
    return True


def _activations_through_membership(*, principal_id: int, group_id: int):
    """The live activations `principal_id` holds from the eligibilities of group `group_id` (the rows
    only: a subquery, not a join, so that FOR UPDATE locks no eligibility)."""
    group_eligibilities = Assignment.objects.filter(principal_id=group_id, kind=Assignment.Kind.ELIGIBLE).values("pk")
    return Assignment.objects.filter(principal_id=principal_id, kind=Assignment.Kind.ACTIVE,
                                     status=Assignment.Status.LIVE, activated_from_id__in=group_eligibilities)


def _end_activations_through_membership(*, membership: Assignment, now: datetime, actor: Actor) -> None:
    """A member who leaves a group keeps nothing they activated from the group's eligibilities.
    Lock order: the membership (held by the caller), then these activations; never the eligibility,
    which an activation locks before the membership (`assignment_lock_memberships`)."""
    group_id = membership.scope.group_id
    if group_id is None:
        return
    _end_live_activations(
        _activations_through_membership(principal_id=membership.principal_id, group_id=group_id)
        .select_related("principal", "role", "scope").select_for_update(of=("self",)),
        reason=Assignment.EndReason.MEMBERSHIP_ENDED, now=now, actor=actor,
        message="Activation ended with the group membership it depended on.")


def _end_live_activations(activations, *, reason: str, now: datetime, actor: Actor, message: str) -> None:
    """End each of these (locked) live activations now, guarded, audited, and announced: consumers
    (email, webhooks, SCIM) must hear of this ending like any other removal."""
    for activation in activations:
        if Assignment.objects.filter(pk=activation.pk, status=Assignment.Status.LIVE).update(
                status=Assignment.Status.ENDED, end_reason=reason, ended_at=now, end_at=_end_clamped(activation, now)):
            audit_event_record(action="assignment.end", actor=actor, target=activation,
                               principal=activation.principal, role=activation.role, scope=activation.scope,
                               message=message)
            activation.status, activation.end_reason = Assignment.Status.ENDED, reason
            domain_events.emit("assignment.removed", assignment=activation, request=None, actor=actor.user)


def assignment_lock_memberships(*, principal: Principal | int, eligible: Assignment) -> datetime | None:
    """Lock `principal`'s live memberships of the group that holds `eligible` (nothing for a direct
    eligibility), after the eligibility's lock: a removal of the membership at the same moment either
    commits first (the access check that follows no longer finds the membership) or waits for this
    transaction and then ends the activation it made. Rows only, no joins: nothing else is locked.

    Returns when the membership ends (the latest end of those locked; None when one is permanent or
    none is needed): an activation through the group never outlives it."""
    principal_id = getattr(principal, "pk", principal)
    if eligible.principal_id == principal_id:
        return None
    ends = list(Assignment.objects.select_for_update().filter(
        principal_id=principal_id, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
        role_id__in=RoleDefinition.objects.filter(slug=RoleDefinition.GROUP_MEMBER).values("pk"),
        scope_id__in=Scope.objects.filter(group_id=eligible.principal_id).values("pk"),
    ).values_list("end_at", flat=True))
    if not ends or None in ends:
        return None
    return max(ends)


def _end_clamped(assignment: Assignment, now: datetime) -> datetime | None:
    """The end time to record when ending early: now, unless it had not started or already ended."""
    if assignment.start_at > now:
        return assignment.end_at if assignment.end_at and assignment.end_at > assignment.start_at else None
    if assignment.end_at is not None and assignment.end_at <= now:
        return assignment.end_at
    return now if now > assignment.start_at else assignment.end_at


@audited_refusal("assignment.remove")
def assignment_remove(*, actor: Actor | User, assignment: Assignment, justification: str = "",
                      reason: str = Assignment.EndReason.REMOVED) -> Assignment:
    """Remove (end now) an assignment. Not within 5 minutes of creation; never the last Global
    Administrator or Privileged Role Administrator."""
    actor = as_actor(actor)
    rules.check_actor_can_manage(actor=actor, role=assignment.role, scope=assignment.scope)
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_live(assignment)
        rules.check_actor_can_manage(actor=actor, role=locked.role, scope=locked.scope)
        rules.check_removal_age(assignment=locked, now=now)
        rules.check_not_last_protected_admin(assignment=locked, new_end=None)
        if locked.kind == Assignment.Kind.ELIGIBLE:
            # Its live activations end with it: never the last Global / Privileged Role Administrator's.
            for activation in (Assignment.objects.select_for_update(of=("self",))
                               .select_related("principal", "role", "scope")
                               .filter(activated_from=locked, status=Assignment.Status.LIVE)):
                rules.check_not_last_protected_admin(assignment=activation, new_end=None)
        before = assignment_snapshot(locked)
        if not assignment_end(assignment=locked, reason=reason, now=now, actor=actor):
            raise conflict("That assignment has already ended.")
        locked.refresh_from_db()
        request = _admin_request(action=Request.Action.ADMIN_REMOVE, actor=actor, assignment=locked,
                                 justification=justification, now=now)
        Request.objects.filter(pk=request.pk).update(status=Request.Status.PROVISIONED)
        audit_event_record(action="assignment.remove", actor=actor, target=locked, principal=locked.principal,
                           role=locked.role, scope=locked.scope, justification=justification, before=before,
                           after=assignment_snapshot(locked), correlation_id=request.pk)
        domain_events.emit("assignment.removed", assignment=locked, request=request, actor=actor.user)
    return locked


# --- static memberships from the organisation's directory ----------------------------------------


def _live_memberships(*, group: Principal, member: Principal):
    return Assignment.objects.filter(principal=member, role__slug=RoleDefinition.GROUP_MEMBER,
                                     scope__group=group, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE)


def membership_directory_add(*, group: Principal, member: Principal, actor: Actor) -> Assignment | None:
    """The directory says `member` belongs to `group`: a permanent active Member assignment with origin
    `directory` (audited, announced). None, changing nothing, when the member already holds a live
    active membership of the group of any origin: a PIM-managed one (time-bound, activated) is never
    replaced. No policy applies: the directory, not PIM, governs static membership. Only the system
    (the intake jobs and endpoints, acting for a configured source) calls this."""
    actor = as_actor(actor)
    if not actor.is_system:
        raise forbidden("Only the directory intake adds directory memberships.")
    if not group.is_group:
        raise invalid(f"{group} is not a group.")
    if member.is_group:
        raise invalid("A group cannot be a member of a group.")
    now = timezone.now()
    with transaction.atomic():
        member = Principal.objects.select_for_update().get(pk=member.pk)
        if not member.enabled:
            return None
        if _live_memberships(group=group, member=member).exists():
            return None
        scope = Scope.objects.get(group=group)
        role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_MEMBER)
        guards.guards_run(guards.MEMBERSHIPS_DIRECTORY, pairs=[(group.pk, member.pk)], at=now, actor=actor)  # flags
        assignment = assignment_insert(principal=member, role=role, scope=scope, kind=Assignment.Kind.ACTIVE,
                                       start_at=now, end_at=None, actor=actor, now=now,
                                       origin=Assignment.Origin.DIRECTORY)
        audit_event_record(action="assignment.create", actor=actor, target=assignment, principal=member,
                           role=role, scope=scope, after=assignment_snapshot(assignment),
                           message="Group membership received from the directory.")
        domain_events.emit("assignment.created", assignment=assignment, request=None, actor=None)
    return assignment


def membership_directory_remove(*, group: Principal, member: Principal, actor: Actor) -> bool:
    """The directory says `member` left `group`: end their directory-origin membership (and what they
    activated through it), audited and announced. PIM-managed memberships are left alone. True if
    this call ended one."""
    actor = as_actor(actor)
    if not actor.is_system:
        raise forbidden("Only the directory intake removes directory memberships.")
    now = timezone.now()
    with transaction.atomic():
        locked = (Assignment.objects.select_for_update(of=("self",)).select_related("principal", "role", "scope")
                  .filter(pk__in=_live_memberships(group=group, member=member)
                          .filter(origin=Assignment.Origin.DIRECTORY).values("pk")).first())
        if locked is None:
            return False
        before = assignment_snapshot(locked)
        if not assignment_end(assignment=locked, reason=Assignment.EndReason.REMOVED, now=now, actor=actor):
            return False
        locked.refresh_from_db()
        audit_event_record(action="assignment.end", actor=actor, target=locked, principal=locked.principal,
                           role=locked.role, scope=locked.scope, before=before, after=assignment_snapshot(locked),
                           message="Group membership removed in the directory.")
        domain_events.emit("assignment.removed", assignment=locked, request=None, actor=None)
    return True


# --- activate / deactivate ------------------------------------------------------------------------


def assignment_activation_window(*, eligible: Assignment, start_at: datetime, duration_minutes: int,
                                 membership_end: datetime | None = None) -> tuple[datetime, datetime, bool]:
    """(start, end, capped): an activation lasts `duration_minutes` from its start and never past the
    end of its eligibility, nor past the end of the group membership it is used through
    (`membership_end`, from `assignment_lock_memberships`); `capped` says one of them cut it."""
    end = start_at + timedelta(minutes=duration_minutes)
    limits = [limit for limit in (eligible.end_at, membership_end) if limit is not None]
    if limits and end > min(limits):
        return start_at, min(limits), True
    return start_at, end, False


def assignment_lock_eligibility(*, eligible: Assignment | int, now: datetime) -> Assignment:
    """Lock an eligible assignment for an activation and check it is still live: an administrator
    removing it at the same moment waits for this transaction, then ends what it activated."""
    pk = eligible if isinstance(eligible, int) else eligible.pk
    locked = (Assignment.objects.select_for_update(of=_LOCK_OF).select_related("principal", "role", "scope")
              .filter(pk=pk, kind=Assignment.Kind.ELIGIBLE).first())
    if locked is None:
        raise not_found("No such eligible assignment.")
    if locked.status != Assignment.Status.LIVE or (locked.end_at is not None and locked.end_at <= now):
        raise conflict(f"Your eligibility for {locked.role.name} at {locked.scope.path} has ended.")
    return locked


def assignment_activate(*, request: Request, now: datetime, approved_by: Actor | User | None = None,
                        locked_eligible: Assignment | None = None, policy: RoleSetting | None = None,
                        eligibility_checked_at: datetime | None = None) -> Assignment:
    """Provision an activation request that needs no (more) approval: under the lock of the
    eligibility it comes from, check that the eligibility is live, still covers the request's scope
    and start, and leaves at least the minimum duration; insert the activation (held from its start);
    mark the request provisioned or scheduled; audit; emit. The activation is the requester's: its
    audit event names them; `approved_by` (the final approver, if any) is told to the consumers.
    Raises `DomainError` (the caller fails the request, or refuses the activation).

    `locked_eligible`: the request's eligibility, which the caller has just locked and checked
    (`assignment_lock_eligibility`) in its own atomic block; that block also undoes this one's
    writes on a refusal, so no second lock and no savepoint of its own (the self-activation).
    `policy`: the effective role setting the caller has just decided the activation under; passed
    on to the consumers (its notification matrix) so that they do not read it again.
    `eligibility_checked_at`: with `locked_eligible`, the start for which the caller has run the access
    check's eligibility lookup under that lock; it is not run again for the same start."""
    from .access import access_find_eligibility

    if request.requested_by is not None:
        requester = as_actor(request.requested_by)
    elif request.principal.is_service_principal:
        # A service principal's own request (`request_self_activate`): the activation is the principal's.
        requester = Actor.service_principal(request.principal)
    else:
        raise conflict("This activation request names no requester.")
    already_locked = locked_eligible is not None and locked_eligible.pk == request.eligible_assignment_id
    with transaction.atomic(savepoint=not already_locked):
        if not request.eligible_assignment_id:
            raise conflict("The eligibility ended while the request waited for approval.")
        try:
            eligible = locked_eligible if already_locked else assignment_lock_eligibility(
                eligible=request.eligible_assignment_id, now=now)
        except DomainError:
            raise conflict("The eligibility ended while the request waited for approval.")
        # Locked here, or by the caller that passed `locked_eligible` (locking again costs nothing).
        membership_end = assignment_lock_memberships(principal=request.principal_id, eligible=eligible)
        start = max(request.start_at or now, now)
        start, end, _ = assignment_activation_window(eligible=eligible, start_at=start,
                                                     duration_minutes=request.duration_minutes or 60,
                                                     membership_end=membership_end)
        if end - start < settings.PIM_MIN_ASSIGNMENT_DURATION:
            raise invalid("The eligibility ends too soon for this activation.")
        checked = already_locked and eligibility_checked_at is not None and eligibility_checked_at == start
        if not checked and access_find_eligibility(principal=request.principal, role=request.role,
                                                   scope=request.scope, at=start) is None:
            raise forbidden(f"{request.principal} is no longer eligible for {request.role.name} at "
                            f"{request.scope.path}.")
        if not already_locked:  # after an approval: separation of duties again (the request saw it first)
            guards.guards_run(guards.ACTIVATION, principal=request.principal, role=request.role, scope=request.scope,
                              start_at=start, end_at=end, actor=requester, request=request)
        activation = assignment_insert(
            principal=request.principal, role=request.role, scope=request.scope, kind=Assignment.Kind.ACTIVE,
            start_at=start, end_at=end, actor=requester, now=now, justification=request.justification,
            ticket_system=request.ticket_system, ticket_number=request.ticket_number, activated_from=eligible,
        )
        status = Request.Status.PROVISIONED if start <= now else Request.Status.SCHEDULED
        Request.objects.filter(pk=request.pk).update(status=status, assignment=activation, start_at=start,
                                                     end_at=end, provisioned_at=now,
                                                     decided_at=request.decided_at or now, updated_at=now)
        request.status, request.assignment, request.start_at, request.end_at = status, activation, start, end
        request.provisioned_at = now
        audit_event_record(action="assignment.activate", actor=requester, target=activation,
                           principal=activation.principal, role=activation.role, scope=activation.scope,
                           justification=request.justification,
                           ticket=_ticket(request.ticket_system, request.ticket_number),
                           after=assignment_snapshot(activation), correlation_id=request.pk)
        told = as_actor(approved_by) if approved_by is not None else requester
        domain_events.emit("assignment.activated", assignment=activation, request=request, actor=told.user,
                           policy=policy)
    return activation


def _own_assignment(*, actor: Actor, assignment: Assignment | int) -> Assignment:
    found = (Assignment.objects.select_related("principal", "role", "scope", "activated_from")
             .filter(pk=assignment if isinstance(assignment, int) else getattr(assignment, "pk", None)).first())
    if found is None:
        raise not_found("No such assignment.")
    if actor.principal is None or found.principal_id != actor.principal.pk:
        raise forbidden("That assignment is not yours.")
    return found


@audited_refusal("assignment.deactivate")
def assignment_deactivate(*, actor: Actor | User, assignment: Assignment, justification: str = "") -> Assignment:
    """The holder ends their own activation early (not within 5 minutes of its start). A scheduled
    activation that has not started yet can always be called off."""
    actor = as_actor(actor)
    assignment = _own_assignment(actor=actor, assignment=assignment)
    if not assignment.is_activation:
        raise invalid("Only activations can be deactivated by their holder; ask an administrator to remove an "
                      "assignment.")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_related(assignment)
        if locked.status != Assignment.Status.LIVE or (locked.end_at is not None and locked.end_at <= now):
            raise conflict("That activation has already ended.")
        if locked.start_at <= now:
            rules.check_removal_age(assignment=locked, now=now, verb="deactivated")
        rules.check_not_last_protected_admin(assignment=locked, new_end=None)
        before = assignment_snapshot(locked)
        new_end = _end_clamped(locked, now)
        if not assignment_end(assignment=locked, reason=Assignment.EndReason.DEACTIVATED, now=now, actor=actor):
            raise conflict("That activation has already ended.")
        locked.status, locked.end_reason, locked.ended_at, locked.end_at = (
            Assignment.Status.ENDED, Assignment.EndReason.DEACTIVATED, now, new_end)
        request = Request.objects.create(
            action=Request.Action.SELF_DEACTIVATE, requested_by=actor.user, principal=locked.principal,
            role=locked.role, scope=locked.scope, kind=locked.kind, assignment=locked, created_at=now,
            status=Request.Status.PROVISIONED, justification=justification, decided_at=now, provisioned_at=now,
            end_at=new_end)
        audit_event_record(action="assignment.deactivate", actor=actor, target=locked, principal=locked.principal,
                           role=locked.role, scope=locked.scope, justification=justification, before=before,
                           after=assignment_snapshot(locked), correlation_id=request.pk)
        domain_events.emit("assignment.deactivated", assignment=locked, request=request, actor=actor.user)
    return locked


# --- extend / renew -----------------------------------------------------------------------------------


def _fmt(at: datetime | None) -> str:
    return "never" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def assignment_extend_validate(*, assignment: Assignment, end_at: datetime | None, now: datetime,
                               eligible: Assignment | None = None, membership_end: datetime | None = None,
                               start_at: datetime | None = None) -> datetime | None:
    """The rules of an extension of a live assignment, without writing; returns the end to set
    (an activation is cut at the end of its eligibility, and of the group membership it is used
    through: `membership_end`). `start_at`, when given and different from
    the assignment's, moves the start of an assignment that has not begun yet (an approver may change
    both); the start of one that has begun stays. Raises `DomainError`."""
    if start_at is not None and start_at != assignment.start_at:
        if assignment.start_at <= now:
            raise invalid(f"This assignment began at {local_text(assignment.start_at)}: an extension keeps its start.",
                          field="start_at")
        start_at = rules.normalise_start(start_at=start_at, now=now)
        rules.check_duration(start_at=start_at, end_at=end_at)
    if assignment.end_at is None:
        raise invalid("A permanent assignment does not need extending.")
    if assignment.end_at <= now:
        raise invalid("That assignment has already ended: renew it instead.")
    if assignment.end_at - now > settings.PIM_EXTEND_WINDOW:
        raise invalid(f"Only assignments ending within {settings.PIM_EXTEND_WINDOW.days} days can be extended.")
    if end_at is not None and timezone.is_naive(end_at):
        raise invalid("Times must carry a time zone.", field="end_at")
    setting = selectors.role_setting_effective(role=assignment.role, scope=assignment.scope)
    if assignment.is_activation:
        if end_at is None:
            raise invalid("An activation cannot be made permanent.", field="end_at")
        limit = now + timedelta(minutes=setting.max_activation_minutes)
        if end_at > limit:
            raise invalid(f"An activation of {assignment.role.name} can last at most "
                          f"{setting.max_activation_minutes // 60} h from now: end it by {local_text(limit)}.",
                          field="end_at")
        if eligible is not None and eligible.end_at is not None and end_at > eligible.end_at:
            if eligible.end_at <= assignment.end_at:
                raise invalid(f"The eligibility it comes from ends at {local_text(eligible.end_at)}: the activation "
                              f"cannot be extended past it.", field="end_at")
            end_at = eligible.end_at  # never past the eligibility it comes from
        if membership_end is not None and end_at > membership_end:
            if membership_end <= assignment.end_at:
                raise invalid(f"Your membership of the group it comes through ends at {local_text(membership_end)}: "
                              f"the activation cannot be extended past it.", field="end_at")
            end_at = membership_end
    else:
        rules.check_principal_can_hold(principal=assignment.principal, role=assignment.role,
                                       scope=assignment.scope, kind=assignment.kind, end_at=end_at)
        rules.check_policy_expiration(setting=setting, kind=assignment.kind, start_at=now, end_at=end_at)
    # An extension that would end sooner than now planned (the eligibility was cut while a request
    # waited) is a shortening: never of the last Global / Privileged Role Administrator.
    rules.check_not_last_protected_admin(assignment=assignment, new_end=end_at)
    if end_at is not None and end_at <= assignment.end_at:
        raise invalid("The new end must be later than the current one.", field="end_at")
    return end_at


@audited_refusal("assignment.extend")
def assignment_extend(*, actor: Actor | User, assignment: Assignment, end_at: datetime | None,
                      justification: str = "", mfa_verified_at: datetime | None = None,
                      request: Request | None = None, start_at: datetime | None = None,
                      message: str = "Extended on approval.") -> Assignment:
    """Extend a live assignment ending within 14 days: an administrator directly, or the approval of
    a self-service extension (`request`, then marked provisioned; `message` says why in its audit
    event). The policy, the activation limits
    and the last-administrator rule are checked now, under the lock, whatever was checked when the
    request was filed. An administrator's extension of a privileged role needs a fresh MFA
    verification; an approved request was decided under the approval rules instead."""
    actor = _acting(actor, mfa_verified_at)
    now = timezone.now()
    with transaction.atomic():
        # Lock order, as for an activation and the removals: the eligibility, then the membership it
        # is used through, then the activation (`activated_from` never changes, so it is read first).
        eligible = membership_end = None
        origin = Assignment.objects.filter(pk=assignment.pk).values_list("activated_from_id", "principal_id").first()
        if origin is not None and origin[0] is not None:
            eligible = _lock_live(origin[0])
            membership_end = assignment_lock_memberships(principal=origin[1], eligible=eligible)
        locked = _lock_live(assignment)
        rules.check_actor_can_manage(actor=actor, role=locked.role, scope=locked.scope)
        if request is None:
            rules.check_privileged_assignment_mfa(actor=actor, role=locked.role, scope=locked.scope, verb="extend")
        end_at = assignment_extend_validate(assignment=locked, end_at=end_at, now=now, eligible=eligible,
                                            membership_end=membership_end, start_at=start_at)
        before = assignment_snapshot(locked)
        new_start = locked.start_at if start_at in (None, locked.start_at) else max(start_at, now)
        guards.guards_run(guards.ASSIGNMENT_CHANGE, assignment=locked, start_at=new_start, end_at=end_at, actor=actor,
                          change="extension")  # separation of duties
        if not Assignment.objects.filter(pk=locked.pk, status=Assignment.Status.LIVE).update(
                start_at=new_start, end_at=end_at, reminded_14d_at=None, reminded_1d_at=None):
            raise conflict("That assignment has already ended.")
        locked.start_at, locked.end_at = new_start, end_at
        if request is None:
            request = _admin_request(action=Request.Action.ADMIN_EXTEND, actor=actor, assignment=locked,
                                     justification=justification, now=now)
            message = ""
        else:
            _request_provisioned(request, now=now, start_at=new_start, end_at=end_at)
        audit_event_record(action="assignment.extend", actor=actor, target=locked, principal=locked.principal,
                           role=locked.role, scope=locked.scope, justification=justification, before=before,
                           after=assignment_snapshot(locked), correlation_id=request.pk, message=message)
        domain_events.emit("assignment.extended", assignment=locked, request=request, actor=actor.user)
    return locked


def assignment_renew_validate(*, assignment: Assignment, end_at: datetime | None, now: datetime,
                              start_at: datetime | None = None) -> datetime:
    """The rules of a renewal of an expired assignment, without writing (not the active-assignment
    policy, which depends on who renews: see `assignment_renew`). The renewal starts now, or at
    `start_at` when given (not in the past); returns that start."""
    if assignment.is_activation:
        raise invalid("Activations are not renewed; the holder activates again.")
    ended_at = assignment.end_at if assignment.status == Assignment.Status.LIVE else (
        assignment.ended_at or assignment.end_at)
    if assignment.status == Assignment.Status.LIVE and (assignment.end_at is None or assignment.end_at > now):
        raise invalid("That assignment has not ended: extend it instead.")
    if assignment.status == Assignment.Status.ENDED and assignment.end_reason != Assignment.EndReason.EXPIRED:
        raise invalid("Only expired assignments can be renewed; this one was ended on purpose.")
    if ended_at is None or now - ended_at > settings.PIM_RENEW_WINDOW:
        raise invalid(f"Only assignments that ended in the last {settings.PIM_RENEW_WINDOW.days} days can be "
                      f"renewed.")
    if end_at is not None and timezone.is_naive(end_at):
        raise invalid("Times must carry a time zone.", field="end_at")
    start = rules.normalise_start(start_at=start_at, now=now)
    if end_at is not None and end_at <= start:
        raise invalid("The end must be after the start.", field="end_at")
    rules.check_principal_can_hold(principal=assignment.principal, role=assignment.role, scope=assignment.scope,
                                   kind=assignment.kind, end_at=end_at)
    rules.check_duration(start_at=start, end_at=end_at)
    setting = selectors.role_setting_effective(role=assignment.role, scope=assignment.scope)
    rules.check_policy_expiration(setting=setting, kind=assignment.kind, start_at=start, end_at=end_at)
    return start


@audited_refusal("assignment.renew")
def assignment_renew(*, actor: Actor | User, assignment: Assignment, end_at: datetime | None,
                     justification: str = "", mfa_verified_at: datetime | None = None,
                     request: Request | None = None, start_at: datetime | None = None) -> Assignment:
    """Renew an assignment that expired within the last 30 days, from now: an administrator
    directly, or the approval of a self-service renewal (`request`, then marked provisioned). Every
    rule (renew window, policy, active-assignment policy for the actor) is checked now, under the
    lock of the old assignment. An administrator's renewal of a privileged role needs a fresh MFA
    verification; an approved request was decided under the approval rules instead."""
    actor = _acting(actor, mfa_verified_at)
    now = timezone.now()
    with transaction.atomic():
        old = Assignment.objects.select_for_update(of=_LOCK_OF).select_related("principal", "role", "scope").filter(
            pk=assignment.pk).first()
        if old is None:
            raise not_found("The assignment to renew no longer exists.")
        rules.check_actor_can_manage(actor=actor, role=old.role, scope=old.scope)
        if request is None:
            rules.check_privileged_assignment_mfa(actor=actor, role=old.role, scope=old.scope, verb="renew")
        start = assignment_renew_validate(assignment=old, end_at=end_at, now=now, start_at=start_at)
        justification = justification or old.justification
        if old.kind == Assignment.Kind.ACTIVE:
            setting = selectors.role_setting_effective(role=old.role, scope=old.scope)
            rules.check_active_assignment_policy(setting=setting, justification=justification, actor=actor)
        guards.guards_run(guards.ASSIGNMENT_CREATE, principal=old.principal, role=old.role, scope=old.scope,
                          kind=old.kind, start_at=start, end_at=end_at, actor=actor, change="renewal")
        renewed = assignment_insert(principal=old.principal, role=old.role, scope=old.scope, kind=old.kind,
                                    start_at=start, end_at=end_at, actor=actor, now=now, justification=justification)
        if request is None:
            request = _admin_request(action=Request.Action.ADMIN_RENEW, actor=actor, assignment=renewed,
                                     justification=justification, now=now)
            message = ""
        else:
            _request_provisioned(request, now=now, assignment=renewed, start_at=start)
            message = "Renewed on approval."
        audit_event_record(action="assignment.renew", actor=actor, target=renewed, principal=renewed.principal,
                           role=renewed.role, scope=renewed.scope, justification=justification,
                           before=assignment_snapshot(old), after=assignment_snapshot(renewed),
                           correlation_id=request.pk, message=message)
        domain_events.emit("assignment.renewed", assignment=renewed, request=request, actor=actor.user)
    return renewed


# --- make active / make eligible --------------------------------------------------------------------


@audited_refusal("assignment.make_active")
def assignment_make_active(*, actor: Actor | User, assignment: Assignment, justification: str = "",
                           mfa_verified_at: datetime | None = None) -> Assignment:
    """Rollback: turn an eligible assignment into an active one with the same window. When the policy
    forbids permanent active assignments, the end is capped at the policy's limit (and said so)."""
    actor = _acting(actor, mfa_verified_at)
    rules.check_actor_can_manage(actor=actor, role=assignment.role, scope=assignment.scope)
    rules.check_privileged_assignment_mfa(actor=actor, role=assignment.role, scope=assignment.scope,
                                          verb="make active")
    now = timezone.now()
    with transaction.atomic():
        eligible = _lock_live(assignment)
        rules.check_actor_can_manage(actor=actor, role=eligible.role, scope=eligible.scope)
        if eligible.kind != Assignment.Kind.ELIGIBLE:
            raise invalid("Only eligible assignments can be made active.")
        rules.check_principal_can_hold(principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                                       kind=Assignment.Kind.ACTIVE, end_at=eligible.end_at)
        setting = selectors.role_setting_effective(role=eligible.role, scope=eligible.scope)
        rules.check_active_assignment_policy(setting=setting, justification=justification or eligible.justification,
                                             actor=actor)
        start_at = max(eligible.start_at, now)
        end_at = eligible.end_at
        message = ""
        if not setting.allow_permanent_active:
            cap = start_at + selectors.expiration_delta(setting.expire_active_after)
            if end_at is None or end_at > cap:
                end_at = cap
                message = (f"The policy limits active assignments to "
                           f"{dict(RoleSetting.EXPIRATION_CHOICES)[setting.expire_active_after]}; the end was capped.")
        if end_at is not None and end_at - start_at < settings.PIM_MIN_ASSIGNMENT_DURATION:
            raise invalid("That eligible assignment ends too soon to be made active.")
        guards.guards_run(guards.ASSIGNMENT_CREATE, principal=eligible.principal, role=eligible.role,
                          scope=eligible.scope, kind=Assignment.Kind.ACTIVE, start_at=start_at, end_at=end_at,
                          actor=actor, change="make active")  # separation of duties
        # An activation of this eligibility is superseded by the permanent-style active assignment.
        for activation in Assignment.objects.select_for_update().filter(
                principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE):
            assignment_end(assignment=activation, reason=Assignment.EndReason.MADE_ACTIVE, now=now, actor=actor)
        if not assignment_end(assignment=eligible, reason=Assignment.EndReason.MADE_ACTIVE, now=now, actor=actor):
            raise conflict("That assignment has already ended.")
        active = assignment_insert(principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                                   kind=Assignment.Kind.ACTIVE, start_at=start_at, end_at=end_at, actor=actor,
                                   now=now, justification=justification or eligible.justification)
        request = _admin_request(action=Request.Action.ADMIN_MAKE_ACTIVE, actor=actor, assignment=active,
                                 justification=justification, now=now)
        audit_event_record(action="assignment.make_active", actor=actor, target=active, principal=active.principal,
                           role=active.role, scope=active.scope, justification=justification, message=message,
                           before=assignment_snapshot(eligible), after=assignment_snapshot(active),
                           correlation_id=request.pk)
        domain_events.emit("assignment.created", assignment=active, request=request, actor=actor.user)
    return active


def assignment_make_active_bulk(*, actor: Actor | User, assignment_ids: list[int], justification: str = "",
                                mfa_verified_at: datetime | None = None) -> list[tuple[int, bool, str]]:
    """Make several eligible assignments active; each in its own transaction. Returns per id
    (id, done, message) so one refusal does not undo or hide the others."""
    actor = _acting(actor, mfa_verified_at)
    results = []
    for assignment in Assignment.objects.filter(pk__in=assignment_ids).select_related("principal", "role", "scope"):
        try:
            active = assignment_make_active(actor=actor, assignment=assignment, justification=justification)
            results.append((assignment.pk, True, f"Active assignment #{active.pk} created."))
        except DomainError as error:
            results.append((assignment.pk, False, error.message))
    found = {r[0] for r in results}
    results += [(pk, False, "No such assignment.") for pk in assignment_ids if pk not in found]
    return results


@audited_refusal("assignment.make_eligible")
def assignment_make_eligible(*, actor: Actor | User, assignment: Assignment, end_at: datetime | None = None,
                             justification: str) -> Assignment:
    """Turn a permanent active assignment (made by an administrator, not an activation) into an
    eligible one from now, ending at `end_at` (None: permanent, if the policy allows it). Same rules
    as removing the active one and assigning the eligible one; never an emergency access account,
    never the last active Global / Privileged Role Administrator."""
    actor = as_actor(actor)
    rules.check_actor_can_manage(actor=actor, role=assignment.role, scope=assignment.scope)
    if not (justification or "").strip():
        raise invalid("Say why.", field="justification")
    now = timezone.now()
    with transaction.atomic():
        active = _lock_live(assignment)
        rules.check_actor_can_manage(actor=actor, role=active.role, scope=active.scope)
        if active.kind != Assignment.Kind.ACTIVE or active.is_activation:
            raise invalid("Only active assignments made by an administrator can be converted to eligible.")
        if active.end_at is not None:
            raise invalid("Only permanent active assignments are converted to eligible; this one already ends.")
        user = getattr(active.principal, "user", None)
        if user is not None and user.is_emergency_access:
            raise conflict(f"{active.principal} is an emergency access account: it keeps its permanent active "
                           f"assignment so that it works when nothing else does.")
        rules.check_removal_age(assignment=active, now=now, verb="converted")
        rules.check_principal_can_hold(principal=active.principal, role=active.role, scope=active.scope,
                                       kind=Assignment.Kind.ELIGIBLE, end_at=end_at)
        rules.check_duration(start_at=now, end_at=end_at)
        setting = selectors.role_setting_effective(role=active.role, scope=active.scope)
        rules.check_policy_expiration(setting=setting, kind=Assignment.Kind.ELIGIBLE, start_at=now, end_at=end_at)
        rules.check_not_last_protected_admin(assignment=active, new_end=None)
        before = assignment_snapshot(active)
        existing = (Assignment.objects.select_for_update()
                    .filter(principal=active.principal, role=active.role, scope=active.scope,
                            kind=Assignment.Kind.ELIGIBLE, status=Assignment.Status.LIVE)
                    .not_over_at(now)
                    .select_related("principal", "role", "scope").first())
        if not assignment_end(assignment=active, reason=Assignment.EndReason.MADE_ELIGIBLE, now=now, actor=actor):
            raise conflict("That assignment has already ended.")
        active.refresh_from_db()
        message = ""
        if existing is not None:
            eligible = existing
            message = f"Already eligible (assignment #{existing.pk}); only the active assignment was ended."
        else:
            eligible = assignment_insert(principal=active.principal, role=active.role, scope=active.scope,
                                         kind=Assignment.Kind.ELIGIBLE, start_at=now, end_at=end_at, actor=actor,
                                         now=now, justification=justification)
        # There is no "make eligible" request action: the new eligibility is an admin assignment,
        # and the audit event below names the conversion.
        request = _admin_request(action=Request.Action.ADMIN_ASSIGN, actor=actor, assignment=eligible,
                                 justification=justification, now=now)
        audit_event_record(action="assignment.make_eligible", actor=actor, target=eligible,
                           principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                           justification=justification, message=message, before=before,
                           after=assignment_snapshot(eligible), correlation_id=request.pk)
        domain_events.emit("assignment.removed", assignment=active, request=request, actor=actor.user)
        if existing is None:
            domain_events.emit("assignment.created", assignment=eligible, request=request, actor=actor.user)
    return eligible


# --- Elevate access --------------------------------------------------------------------------------


@audited_refusal("access.elevate")
def access_elevate(*, actor: Actor | User, justification: str = "",
                   mfa_verified_at: datetime | None = None) -> Assignment:
    """A Global Administrator gives themselves User Access Administrator at `/` (all subscriptions)."""
    actor = _acting(actor, mfa_verified_at)
    if not actor.is_person:
        raise forbidden("Only a person who is an active Global Administrator can elevate access.")
    if not selectors.user_holds_any(user=actor, role_slugs=[RoleDefinition.GLOBAL_ADMINISTRATOR]):
        raise forbidden("Only an active Global Administrator can elevate access.")
    if not justification.strip():
        raise invalid("Say why you elevate access.", field="justification")
    rules.check_admin_mfa(actor=actor, what="elevate access")
    now = timezone.now()
    role = RoleDefinition.objects.get(slug=RoleDefinition.USER_ACCESS_ADMINISTRATOR)
    root = selectors.scope_root()
    with transaction.atomic():
        assignment = assignment_insert(principal=actor.principal, role=role, scope=root, kind=Assignment.Kind.ACTIVE,
                                       start_at=now, end_at=None, actor=actor, now=now, justification=justification)
        ElevatedAccess.objects.create(user=actor.user, assignment=assignment)
        request = _admin_request(action=Request.Action.ADMIN_ASSIGN, actor=actor, assignment=assignment,
                                 justification=justification, now=now)
        audit_event_record(action="access.elevate", actor=actor, target=assignment, principal=actor.principal,
                           role=role, scope=root, justification=justification,
                           after=assignment_snapshot(assignment), correlation_id=request.pk)
        domain_events.emit("assignment.created", assignment=assignment, request=request, actor=actor.user)
    return assignment


def access_elevate_end(*, actor: Actor | User) -> int:
    """Drop one's elevated access (no 5-minute rule: giving up privilege is always allowed)."""
    actor = as_actor(actor)
    now = timezone.now()
    ended = 0
    with transaction.atomic():
        for elevation in ElevatedAccess.objects.select_related("assignment").filter(
                user=actor.user, assignment__status=Assignment.Status.LIVE):
            locked = _lock_related(elevation.assignment)
            if assignment_end(assignment=locked, reason=Assignment.EndReason.REMOVED, now=now, actor=actor):
                ended += 1
                audit_event_record(action="access.elevate_end", actor=actor, target=elevation.assignment,
                                   principal=actor.principal, role=elevation.assignment.role,
                                   scope=elevation.assignment.scope)
    return ended


# --- Changes made outside PIM ------------------------------------------------------------------------


def assignment_record_outside_pim(*, actor: Actor | User, assignment: Assignment, before: dict | None) -> Assignment:
    """An assignment written directly (Django admin, import): mark its origin and audit it as such."""
    actor = as_actor(actor)
    with transaction.atomic():
        Assignment.objects.filter(pk=assignment.pk).update(origin=Assignment.Origin.OUTSIDE)
        assignment.origin = Assignment.Origin.OUTSIDE
        audit_event_record(action="assignment.change_outside_pim" if before else "assignment.create_outside_pim",
                           actor=actor, target=assignment, principal=assignment.principal, role=assignment.role,
                           scope=assignment.scope, before=before, after=assignment_snapshot(assignment),
                           message="Changed outside the PIM request pipeline.")
    return assignment


def generate_password() -> str:
    return secrets.token_urlsafe(18)



# --- Administration by hand: users, scopes and custom roles ------------------------------------------
# The pages and the API of `directory` (and its bulk import) call these; the rules are here.


USER_EDITABLE_FIELDS = ("display_name", "email", "time_zone")


def _clean_text(value: str, *, limit: int, field: str, what: str) -> str:
    value = (value or "").replace("\x00", "").strip()
    if len(value) > limit:
        raise invalid(f"{what} is at most {limit} characters.", field=field)
    return value


def _checked_email(value: str) -> str:
    """A user's email address, cleaned; empty is allowed (no address)."""
    email = _clean_text(value, limit=254, field="email", what="An email address")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise invalid(f"{email} is not an email address.", field="email")
    return email


@audited_refusal("user.update", describe=lambda kwargs: {"target": _model_or_none(kwargs.get("user"))})
def user_update(*, user: User, actor: Actor | User, mfa_verified_at: datetime | None = None,
                **values: str) -> tuple[User, bool]:
    """Change a user's display name, email or time zone (the given ones). Same writers and MFA gate as
    `user_create`. Returns (user, changed): nothing written or audited when every value is already so."""
    actor = _acting(actor, mfa_verified_at)
    unknown = set(values) - set(USER_EDITABLE_FIELDS)
    if unknown:
        raise invalid(f"These fields cannot be changed here: {', '.join(sorted(unknown))}.")
    _check_directory_writer(actor=actor, role_slugs=DIRECTORY_WRITERS, what="users", verb="change")
    rules.check_admin_mfa(actor=actor, what="change users")
    clean: dict[str, str] = {}
    found = FieldErrors()
    if "display_name" in values:
        with found.check():
            clean["display_name"] = _clean_text(values["display_name"], limit=200, field="display_name",
                                                what="A display name")
            if not clean["display_name"]:
                raise invalid("A user needs a display name.", field="display_name")
    if "email" in values:
        with found.check():
            clean["email"] = _checked_email(values["email"])
    if "time_zone" in values:
        with found.check():
            clean["time_zone"] = _clean_text(values["time_zone"], limit=64, field="time_zone", what="A time zone")
            if clean["time_zone"] and not time_zone_valid(clean["time_zone"]):
                raise invalid(f"{clean['time_zone']} is not a time zone (use an IANA name such as Europe/Paris).",
                              field="time_zone")
    found.raise_if_any()
    with transaction.atomic():
        locked = User.objects.select_for_update().filter(pk=user.pk).first()
        if locked is None:
            raise not_found("That user no longer exists.")
        before = {name: getattr(locked, name) for name in clean}
        changed = {name: value for name, value in clean.items() if before[name] != value}
        if not changed:
            return locked, False
        User.objects.filter(pk=locked.pk).update(**changed)
        # The principal mirrors the name and address pages, the access check's lists and emails show.
        principal_fields = {name: changed[name] for name in ("display_name", "email") if name in changed}
        if principal_fields:
            Principal.objects.filter(user=locked).update(**principal_fields)
        locked.refresh_from_db()
        audit_event_record(action="user.update", actor=actor, target=locked,
                           before={name: before[name] for name in changed}, after=changed)
    return locked, True


@dataclass(frozen=True)
class UserChange:
    """What `user_change` did: the user as now, whether anything changed, how many assignments ended."""

    user: User
    changed: bool
    ended_assignments: int


def user_change(*, user: User, actor: Actor | User, mfa_verified_at: datetime | None = None,
                enabled: bool | None = None, justification: str = "", **values: str) -> UserChange:
    """Change a user's details (`user_update`) and, when `enabled` is given, enable or offboard them
    (`user_set_enabled`), in one transaction: a refusal of either (a bad time zone, the last Global
    Administrator) leaves nothing of the other. Each part audits its own change or refusal."""
    with transaction.atomic():
        updated, changed = user_update(user=user, actor=actor, mfa_verified_at=mfa_verified_at, **values)
        ended = 0
        if enabled is not None:
            updated, toggled, ended = _user_enabled_set(user=updated, enabled=enabled, actor=actor,
                                                        mfa_verified_at=mfa_verified_at,
                                                        justification=justification)
            changed = changed or toggled
    return UserChange(user=updated, changed=changed, ended_assignments=ended)


def user_offboarding_preview(*, user: User) -> list[Assignment]:
    """What disabling `user` ends (`user_set_enabled`): every live assignment they hold, with what was
    activated from them. The confirmation page lists these before the administrator confirms."""
    return list(Assignment.objects.select_related("role", "scope", "principal")
                .filter(principal__user=user, status=Assignment.Status.LIVE).order_by("role__name", "scope__path"))


# Where each kind of scope hangs (DESIGN §2): management groups nest under the root or another management
# group; subscriptions under the root or a management group; resource groups under a subscription;
# resources under a resource group. Group scopes belong to their group (`group_create`).
SCOPE_PARENT_KINDS = {
    Scope.Kind.MANAGEMENT_GROUP: [Scope.Kind.DIRECTORY, Scope.Kind.MANAGEMENT_GROUP],
    Scope.Kind.SUBSCRIPTION: [Scope.Kind.DIRECTORY, Scope.Kind.MANAGEMENT_GROUP],
    Scope.Kind.RESOURCE_GROUP: [Scope.Kind.SUBSCRIPTION],
    Scope.Kind.RESOURCE: [Scope.Kind.RESOURCE_GROUP],
}
# Kinds whose id does not contain the parent's, so they can be re-hung without changing their id.
SCOPE_MOVABLE_KINDS = [Scope.Kind.MANAGEMENT_GROUP, Scope.Kind.SUBSCRIPTION]
# Who changes the resource hierarchy: a Global Administrator (a directory role held at `/`, above every
# scope) or an Owner at the scope concerned or above it. One access-check query.
SCOPE_WRITER_ROLES = [RoleDefinition.GLOBAL_ADMINISTRATOR, RoleDefinition.OWNER]
_SCOPE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.()")
_RESOURCE_TAIL_CHARS = _SCOPE_NAME_CHARS | {"/"}


def scope_path_for(*, kind: str, name: str, parent: Scope) -> str:
    """The Azure-style id of a new scope of `kind` called `name` under `parent`: management groups
    `/providers/Microsoft.Management/managementGroups/<name>`, subscriptions `/subscriptions/<name>`,
    resource groups `<subscription>/resourceGroups/<name>`, resources `<resource group>/providers/<type>/<name>`
    (`name` then carries the type: `Microsoft.Compute/virtualMachines/vm1`)."""
    name = (name or "").replace("\x00", "").strip().strip("/")
    if not name:
        raise invalid("Give the scope's id (its last part: a name, or a resource's type and name).", field="name")
    allowed = _RESOURCE_TAIL_CHARS if kind == Scope.Kind.RESOURCE else _SCOPE_NAME_CHARS
    if set(name) - allowed or "//" in name or len(name) > 200:
        what = "letters, digits and - _ . ( )" + (" and /" if kind == Scope.Kind.RESOURCE else "")
        raise invalid(f"A scope id holds {what}, at most 200 characters.", field="name")
    if kind == Scope.Kind.MANAGEMENT_GROUP:
        return f"/providers/Microsoft.Management/managementGroups/{name}"
    if kind == Scope.Kind.SUBSCRIPTION:
        return f"/subscriptions/{name}"
    if kind == Scope.Kind.RESOURCE_GROUP:
        return f"{parent.path}/resourceGroups/{name}"
    if kind == Scope.Kind.RESOURCE:
        if name.count("/") < 2:
            raise invalid("A resource's id is its provider, type and name: Microsoft.Compute/virtualMachines/vm1.",
                          field="name")
        return f"{parent.path}/providers/{name}"
    raise invalid("Choose a management group, subscription, resource group or resource.", field="kind")


def _check_scope_writer(*, actor: Actor, scope: Scope, verb: str) -> None:
    if actor.is_system:
        return
    if actor.principal is None or not selectors.user_holds_any(user=actor, role_slugs=SCOPE_WRITER_ROLES,
                                                               scope=scope):
        raise forbidden(f"You are not allowed to {verb}: that needs an active Global Administrator, or Owner at "
                        f"{scope.path} or above.")


def _check_parent_kind(*, kind: str, parent: Scope) -> None:
    allowed = SCOPE_PARENT_KINDS.get(kind)
    if allowed is None:
        raise invalid("Choose a management group, subscription, resource group or resource.", field="kind")
    if parent.kind not in allowed:
        labels = " or ".join(str(Scope.Kind(k).label).lower() for k in allowed)
        raise invalid(f"A {Scope.Kind(kind).label.lower()} goes under a {labels}, not under "
                      f"{parent.get_kind_display().lower()} {parent.path}.", field="parent")


def _scope_refusal(kwargs: dict) -> dict:
    scope = _model_or_none(kwargs.get("scope")) or _model_or_none(kwargs.get("parent"))
    return {"target": scope, "scope": scope}


@audited_refusal("scope.create", describe=_scope_refusal)
def scope_add(*, kind: str, name: str, display_name: str, parent: Scope, actor: Actor | User,
              mfa_verified_at: datetime | None = None) -> Scope:
    """An administrator adds a management group, subscription, resource group or resource under
    `parent`: the kind must fit the parent, the caller must be a scope writer at the parent, with a
    fresh MFA verification. The id is derived (`scope_path_for`); `scope_create` writes the closure."""
    actor = _acting(actor, mfa_verified_at)
    _check_parent_kind(kind=kind, parent=parent)
    path = scope_path_for(kind=kind, name=name, parent=parent)
    display_name = _clean_text(display_name, limit=200, field="display_name", what="A display name") or \
        path.rsplit("/", 1)[-1]
    _check_scope_writer(actor=actor, scope=parent, verb=f"add scopes under {parent.path}")
    rules.check_admin_mfa(actor=actor, what="change the resource hierarchy")
    with transaction.atomic():
        # The parent's row serialises adds and deletes under it (a delete checks it has no children).
        parent = Scope.objects.select_for_update().get(pk=parent.pk)
        return scope_create(path=path, kind=kind, display_name=display_name, parent=parent, actor=actor)


@audited_refusal("scope.rename", describe=_scope_refusal)
def scope_rename(*, scope: Scope, display_name: str, actor: Actor | User,
                 mfa_verified_at: datetime | None = None) -> tuple[Scope, bool]:
    """Change a scope's display name (its id, the path, never changes: assignments, policies, audit
    events and downstream systems refer to it). Returns (scope, changed)."""
    actor = _acting(actor, mfa_verified_at)
    display_name = _clean_text(display_name, limit=200, field="display_name", what="A display name")
    if not display_name:
        raise invalid("A scope needs a display name.", field="display_name")
    if scope.kind in (Scope.Kind.DIRECTORY, Scope.Kind.GROUP):
        raise invalid("The directory root and group scopes are named by the directory and the group.")
    _check_scope_writer(actor=actor, scope=scope, verb=f"rename {scope.path}")
    rules.check_admin_mfa(actor=actor, what="change the resource hierarchy")
    with transaction.atomic():
        locked = Scope.objects.select_for_update().filter(pk=scope.pk).first()
        if locked is None:
            raise not_found("That scope no longer exists.")
        if locked.display_name == display_name:
            return locked, False
        before = locked.display_name
        Scope.objects.filter(pk=locked.pk).update(display_name=display_name)
        locked.display_name = display_name
        audit_event_record(action="scope.rename", actor=actor, target=locked, scope=locked,
                           before={"display_name": before}, after={"display_name": display_name})
    return locked, True


@audited_refusal("scope.move", describe=_scope_refusal)
def scope_relocate(*, scope: Scope, new_parent: Scope, actor: Actor | User,
                   mfa_verified_at: datetime | None = None) -> tuple[Scope, bool]:
    """An administrator moves a management group or a subscription under another parent: only those
    two kinds move (the others' ids contain their parent's), the new parent must fit the kind and not
    lie inside the subtree (`scope_move` refuses cycles under its lock), and the caller must be a scope
    writer at both the scope and the new parent. Returns (scope, changed)."""
    actor = _acting(actor, mfa_verified_at)
    if scope.kind not in SCOPE_MOVABLE_KINDS:
        raise invalid(f"Only management groups and subscriptions move: the id of a {scope.get_kind_display().lower()} "
                      f"contains its parent's.", field="parent")
    _check_parent_kind(kind=scope.kind, parent=new_parent)
    _check_scope_writer(actor=actor, scope=scope, verb=f"move {scope.path}")
    _check_scope_writer(actor=actor, scope=new_parent, verb=f"move scopes under {new_parent.path}")
    rules.check_admin_mfa(actor=actor, what="change the resource hierarchy")
    if scope.parent_id == new_parent.pk:
        return scope, False
    return scope_move(scope=scope, new_parent=new_parent, actor=actor), True


@audited_refusal("scope.delete", describe=_scope_refusal)
def scope_delete(*, scope: Scope, actor: Actor | User, mfa_verified_at: datetime | None = None) -> None:
    """Delete an empty scope: no child scope, no assignment (live or ended: their history keeps the
    scope), no request, no role setting. Otherwise refused with what is left in it."""
    actor = _acting(actor, mfa_verified_at)
    if scope.kind in (Scope.Kind.DIRECTORY, Scope.Kind.GROUP):
        raise invalid("The directory root cannot be deleted, and a group's scope goes with its group.")
    _check_scope_writer(actor=actor, scope=scope, verb=f"delete {scope.path}")
    rules.check_admin_mfa(actor=actor, what="change the resource hierarchy")
    with transaction.atomic():
        locked = Scope.objects.select_for_update().filter(pk=scope.pk).first()
        if locked is None:
            raise not_found("That scope no longer exists.")
        left = []
        children = Scope.objects.filter(parent=locked).count()
        if children:
            left.append(f"{children} child scope{'s' if children != 1 else ''}")
        live = Assignment.objects.filter(scope=locked, status=Assignment.Status.LIVE).count()
        if live:
            left.append(f"{live} current assignment{'s' if live != 1 else ''}")
        ended = Assignment.objects.filter(scope=locked).exclude(status=Assignment.Status.LIVE).count()
        if ended:
            left.append(f"{ended} ended assignment{'s' if ended != 1 else ''} kept as history")
        requests = Request.objects.filter(scope=locked).count()
        if requests and not live and not ended:
            left.append(f"{requests} request{'s' if requests != 1 else ''} kept as history")
        policies = RoleSetting.objects.filter(scope=locked).count()
        if policies:
            left.append(f"{policies} role setting{'s' if policies != 1 else ''}")
        if left:
            raise conflict(f"{locked.path} is not empty: it has {', '.join(left)}. Only an empty scope can be "
                           f"deleted.")
        snapshot = {"path": locked.path, "kind": locked.kind, "display_name": locked.display_name,
                    "parent": locked.parent.path if locked.parent_id else None}
        audit_event_record(action="scope.delete", actor=actor, target=locked, scope=locked, before=snapshot)
        ScopeClosure.objects.filter(descendant=locked).delete()
        locked.delete()


CUSTOM_ROLE_KINDS = [RoleDefinition.Kind.DIRECTORY, RoleDefinition.Kind.RESOURCE]
_PATTERN_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789./*_-")


def role_patterns_validate(*, actions: Iterable[str], not_actions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Permission patterns as a person types them (`microsoft.directory/users/*`): trimmed, each at most
    300 characters of letters, digits and . / * _ -, no duplicates; at least one action."""
    cleaned = []
    for field, patterns in (("actions", actions), ("not_actions", not_actions)):
        seen: list[str] = []
        for raw in patterns:
            pattern = (raw or "").strip()
            if not pattern:
                continue
            if len(pattern) > 300 or set(pattern) - _PATTERN_CHARS:
                raise invalid(f"{pattern[:80]!r} is not a permission pattern: letters, digits and . / * _ -, at most "
                              f"300 characters (for example microsoft.directory/users/password/update).", field=field)
            if pattern.lower() not in (p.lower() for p in seen):
                seen.append(pattern)
        cleaned.append(seen)
    if not cleaned[0]:
        raise invalid("A role needs at least one permitted action.", field="actions")
    return cleaned[0], cleaned[1]


def _role_refusal(kwargs: dict) -> dict:
    role = _model_or_none(kwargs.get("role"))
    return {"target": role, "role": role}


def _role_snapshot(role: RoleDefinition) -> dict:
    permissions = list(role.permissions.order_by("pk"))
    return {"name": role.name, "description": role.description, "is_privileged": role.is_privileged,
            "actions": [p.pattern for p in permissions if not p.is_not_action],
            "not_actions": [p.pattern for p in permissions if p.is_not_action]}


def _check_role_writer(actor: Actor, verb: str) -> None:
    if not actor.is_system and not selectors.user_holds_any(user=actor, role_slugs=selectors.DIRECTORY_ADMIN_ROLES):
        raise forbidden(f"Only Global Administrators and Privileged Role Administrators {verb} roles.")


@audited_refusal("role.create", describe=_role_refusal)
def role_definition_add(*, slug: str, name: str, kind: str, description: str = "", actions: Iterable[str] = (),
                        not_actions: Iterable[str] = (), is_privileged: bool = False, actor: Actor | User,
                        mfa_verified_at: datetime | None = None) -> RoleDefinition:
    """An administrator creates a custom directory or resource role (group roles are Member and Owner
    only); patterns checked by `role_patterns_validate`; written by `role_definition_create`."""
    actor = _acting(actor, mfa_verified_at)
    _check_role_writer(actor, "create")
    if kind not in CUSTOM_ROLE_KINDS:
        raise invalid("A custom role is a directory role or a resource role.", field="kind")
    slug = slugify((slug or "").replace("\x00", "").strip() or name or "")[:100]
    if not slug:
        raise invalid("A role needs an id (letters, digits and dashes).", field="slug")
    name = _clean_text(name, limit=200, field="name", what="A role name")
    if not name:
        raise invalid("A role needs a name.", field="name")
    description = _clean_text(description, limit=4000, field="description", what="A description")
    actions, not_actions = role_patterns_validate(actions=actions, not_actions=not_actions)
    if RoleDefinition.objects.filter(name__iexact=name).exists():
        raise conflict(f"A role named {name} already exists.")
    return role_definition_create(slug=slug, name=name, kind=kind, description=description, actions=actions,
                                  not_actions=not_actions, is_privileged=is_privileged, actor=actor)


@audited_refusal("role.update", describe=_role_refusal)
def role_definition_update(*, role: RoleDefinition, actor: Actor | User, mfa_verified_at: datetime | None = None,
                           name: str | None = None, description: str | None = None, is_privileged: bool | None = None,
                           actions: Iterable[str] | None = None, not_actions: Iterable[str] | None = None
                           ) -> tuple[RoleDefinition, bool]:
    """Change a custom role's name, description, privileged label or permissions (what is given). Built-in
    roles are read-only. A role in use changes for everyone holding it, at commit (the access check reads
    the patterns), audited with before and after. Returns (role, changed)."""
    actor = _acting(actor, mfa_verified_at)
    _check_role_writer(actor, "change")
    if role.is_builtin:
        raise forbidden(f"{role.name} is a built-in role: it cannot be changed.")
    rules.check_admin_mfa(actor=actor, what="change roles")
    if name is not None:
        name = _clean_text(name, limit=200, field="name", what="A role name")
        if not name:
            raise invalid("A role needs a name.", field="name")
    if description is not None:
        description = _clean_text(description, limit=4000, field="description", what="A description")
    with transaction.atomic():
        locked = RoleDefinition.objects.select_for_update().filter(pk=role.pk).first()
        if locked is None:
            raise not_found("That role no longer exists.")
        before = _role_snapshot(locked)
        if actions is not None or not_actions is not None:
            new_actions, new_not = role_patterns_validate(
                actions=before["actions"] if actions is None else actions,
                not_actions=before["not_actions"] if not_actions is None else not_actions)
        else:
            new_actions, new_not = before["actions"], before["not_actions"]
        if name is not None and name.lower() != locked.name.lower() and \
                RoleDefinition.objects.filter(name__iexact=name).exclude(pk=locked.pk).exists():
            raise conflict(f"A role named {name} already exists.")
        after = {"name": locked.name if name is None else name,
                 "description": locked.description if description is None else description,
                 "is_privileged": locked.is_privileged if is_privileged is None else bool(is_privileged),
                 "actions": new_actions, "not_actions": new_not}
        if after == before:
            return locked, False
        RoleDefinition.objects.filter(pk=locked.pk).update(name=after["name"], description=after["description"],
                                                          is_privileged=after["is_privileged"])
        if (new_actions, new_not) != (before["actions"], before["not_actions"]):
            locked.permissions.all().delete()
            RolePermission.objects.bulk_create(
                [RolePermission(role=locked, pattern=p, like_pattern=role_permission_pattern(p)) for p in new_actions]
                + [RolePermission(role=locked, pattern=p, like_pattern=role_permission_pattern(p), is_not_action=True)
                   for p in new_not])
        locked.refresh_from_db()
        changed_keys = [key for key in after if after[key] != before[key]]
        audit_event_record(action="role.update", actor=actor, target=locked, role=locked,
                           before={k: before[k] for k in changed_keys}, after={k: after[k] for k in changed_keys})
    return locked, True


@audited_refusal("role.delete", describe=_role_refusal)
def role_definition_delete(*, role: RoleDefinition, actor: Actor | User,
                           mfa_verified_at: datetime | None = None) -> None:
    """Delete a custom role nobody uses: no assignment (live or ended: history keeps it), no request, no
    role setting. Built-in roles cannot be deleted."""
    actor = _acting(actor, mfa_verified_at)
    _check_role_writer(actor, "delete")
    if role.is_builtin:
        raise forbidden(f"{role.name} is a built-in role: it cannot be deleted.")
    rules.check_admin_mfa(actor=actor, what="delete roles")
    with transaction.atomic():
        locked = RoleDefinition.objects.select_for_update().filter(pk=role.pk).first()
        if locked is None:
            raise not_found("That role no longer exists.")
        left = []
        assignments = Assignment.objects.filter(role=locked).count()
        if assignments:
            left.append(f"{assignments} assignment{'s' if assignments != 1 else ''} (current or kept as history)")
        requests = Request.objects.filter(role=locked).count()
        if requests and not assignments:
            left.append(f"{requests} request{'s' if requests != 1 else ''} kept as history")
        policies = RoleSetting.objects.filter(role=locked).count()
        if policies:
            left.append(f"{policies} role setting{'s' if policies != 1 else ''}")
        if left:
            raise conflict(f"{locked.name} is in use: it has {', '.join(left)}. Only an unused role can be deleted.")
        audit_event_record(action="role.delete", actor=actor, target=locked, role=locked,
                           before={"slug": locked.slug, **_role_snapshot(locked)})
        locked.delete()
