"""Idempotent bootstrap: root scope, built-in roles, default and seed role settings, emergency access.

Running it again changes nothing that exists; it only adds what is missing.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from core.actors import Actor

from . import services
from .catalogue import BUILTIN_ROLES, SEED_POLICIES
from .models import Assignment, RoleDefinition, RoleSetting, Scope, ScopeClosure, User

BOOTSTRAP = Actor.system("bootstrap")
EMERGENCY_ACCOUNTS = [("breakglass1", "Emergency access 1"), ("breakglass2", "Emergency access 2")]


@dataclass
class BootstrapResult:
    created_roles: list[str] = field(default_factory=list)
    emergency_passwords: dict[str, str] = field(default_factory=dict)


def bootstrap_root_scope() -> Scope:
    root = Scope.objects.filter(path="/").first()
    if root is None:
        root = services.scope_create(path="/", kind=Scope.Kind.DIRECTORY, display_name="Directory",
                                     actor=BOOTSTRAP)
    ScopeClosure.objects.get_or_create(ancestor=root, descendant=root, defaults={"depth": 0})
    return root


def bootstrap_roles() -> list[str]:
    created = []
    for slug, name, kind, privileged, description, actions, not_actions in BUILTIN_ROLES:
        if not RoleDefinition.objects.filter(slug=slug).exists():
            services.role_definition_create(slug=slug, name=name, kind=kind, description=description, actions=actions,
                                            not_actions=not_actions, is_privileged=privileged, is_builtin=True,
                                            actor=BOOTSTRAP)
            created.append(slug)
    return created


def bootstrap_role_settings(root: Scope) -> None:
    """One root-level setting per role: the built-in defaults, overlaid with the seed policy."""
    for role in RoleDefinition.objects.all():
        if RoleSetting.objects.filter(role=role, scope=root).exists():
            continue
        values = dict(SEED_POLICIES.get(role.slug, {}))
        values.pop("approval_by_role_holders", None)  # no named approvers: the fallback is the role's admins
        services.role_setting_update(actor=BOOTSTRAP, role=role, scope=root, values=values)


def bootstrap_emergency_access(root: Scope) -> dict[str, str]:
    """Two break-glass accounts with permanent active Global Administrator. Passwords are returned
    (to print once) only when the account is created now."""
    passwords = {}
    ga = RoleDefinition.objects.get(slug=RoleDefinition.GLOBAL_ADMINISTRATOR)
    for username, display in EMERGENCY_ACCOUNTS:
        user = User.objects.filter(username=username).first()
        if user is None:
            password = services.generate_password()
            user = services.user_create(username=username, display_name=display, password=password,
                                        email=f"{username}@localhost", is_emergency_access=True, actor=BOOTSTRAP)
            passwords[username] = password
        held = Assignment.objects.filter(principal=user.principal, role=ga, scope=root, kind=Assignment.Kind.ACTIVE,
                                         status=Assignment.Status.LIVE, end_at__isnull=True).exists()
        if not held:
            services.assignment_create(actor=BOOTSTRAP, principal=user.principal, role=ga, scope=root,
                                       kind=Assignment.Kind.ACTIVE, start_at=timezone.now(), end_at=None,
                                       justification="Emergency access account (bootstrap).")
    return passwords


def bootstrap_all() -> BootstrapResult:
    with transaction.atomic():
        root = bootstrap_root_scope()
        result = BootstrapResult(created_roles=bootstrap_roles())
        bootstrap_role_settings(root)
        result.emergency_passwords = bootstrap_emergency_access(root)
    return result
