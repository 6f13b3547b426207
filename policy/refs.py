"""How the configuration names principals, roles and scopes: by what stays the same from one portal to
its copy and in git (usernames, object ids, role slugs, scope paths), never by database ids."""

import uuid

from assignments.models import Principal, RoleDefinition, Scope
from core.errors import invalid


def principal_ref(principal: Principal) -> str:
    """`user:<username>`, `group:<object id>` or `service_principal:<object id>`."""
    if principal.is_user:
        return f"user:{principal.user.username}"
    return f"{principal.kind}:{principal.object_id}"


def principal_from_ref(ref: str) -> Principal:
    kind, _, name = str(ref).partition(":")
    found = None
    if kind == "user":
        found = Principal.objects.filter(kind=Principal.Kind.USER, user__username=name).first()
    elif kind in (Principal.Kind.GROUP, Principal.Kind.SERVICE_PRINCIPAL):
        try:
            found = Principal.objects.filter(kind=kind, object_id=uuid.UUID(name)).first()
        except ValueError:  # not a UUID: nobody has it
            found = None
    if found is None:
        raise invalid(f"No principal {ref!r} (write user:<username>, group:<object id> or "
                      "service_principal:<object id>).", field="principal")
    return found


def role_from_slug(slug: str) -> RoleDefinition:
    role = RoleDefinition.objects.filter(slug=slug).first()
    if role is None:
        raise invalid(f"No role {slug!r}.", field="role")
    return role


def scope_from_path(path: str) -> Scope:
    scope = Scope.objects.filter(path=path).first()
    if scope is None:
        raise invalid(f"No scope {path!r}.", field="scope")
    return scope


def split_at(key: str) -> tuple[str, str]:
    """`<role slug>@<scope path>` → (slug, path)."""
    slug, sep, path = key.partition("@")
    if not sep or not slug or not path.startswith("/"):
        raise invalid(f"{key!r} is not <role>@<scope path>.", field="key")
    return slug, path
