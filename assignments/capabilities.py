"""What the signed-in person may use, computed once per request from the access check: the pages and
the navigation of every app ask it."""

from .access import access_has_any_role
from .models import RoleDefinition
from .selectors import DIRECTORY_VIEWER_ROLES, user_administered_scope_ids, user_holds_any

AUDITOR_ROLES = DIRECTORY_VIEWER_ROLES
ADMIN_ROLES_ANYWHERE = [
    RoleDefinition.GLOBAL_ADMINISTRATOR,
    RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR,
]


def _holds_admin_somewhere(user) -> bool:
    """Owner / User Access Administrator at any scope, or Owner of any group (one query)."""
    return user_administered_scope_ids(user=user).exists()


def user_capabilities(request) -> dict[str, bool]:
    cached = getattr(request, "_pim_capabilities", None)
    if cached is not None:
        return cached
    user = request.user
    caps = {"user": False, "directory_viewer": False, "directory_admin": False, "any_admin": False, "auditor": False,
            "assignments_viewer": False}
    if user.is_authenticated and hasattr(user, "principal"):
        caps["user"] = True
        caps["directory_viewer"] = user_holds_any(user=user, role_slugs=DIRECTORY_VIEWER_ROLES)
        caps["directory_admin"] = caps["directory_viewer"] and access_has_any_role(
            principal=user.principal, role_slugs=ADMIN_ROLES_ANYWHERE, scope="/")
        caps["auditor"] = caps["directory_viewer"]
        caps["any_admin"] = caps["directory_admin"] or _holds_admin_somewhere(user)
        caps["assignments_viewer"] = caps["any_admin"] or caps["directory_viewer"]
        # Resource Owners / User Access Administrators read the history of their scopes.
        caps["auditor"] = caps["directory_viewer"] or caps["any_admin"]
    request._pim_capabilities = caps
    return caps
