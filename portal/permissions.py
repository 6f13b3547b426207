"""What the signed-in person may use, computed once per request from the access check."""

from assignments.access import access_has_any_role
from assignments.models import RoleDefinition
from assignments.selectors import DIRECTORY_VIEWER_ROLES, user_administered_scope_ids, user_holds_any

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


# --- The Django admin ---------------------------------------------------------------------------------

ADMIN_NEEDS_SIGN_IN = "sign in"
ADMIN_NEEDS_MFA = "fresh MFA"
ADMIN_NEEDS_GLOBAL_ADMINISTRATOR = (
    "The Django admin is for people with an active Global Administrator assignment (superuser and staff "
    "flags do not count). Activate Global Administrator under My roles, or use the portal's pages.")


def django_admin_refusal(request) -> str | None:
    """Why this request may not use the Django admin (one of the ADMIN_NEEDS_* values), or None when it
    may: an active Global Administrator assignment (the access check, now) and a fresh MFA verification.
    Computed once per request: the admin asks for every model on a page."""
    if hasattr(request, "_pim_admin_refusal"):
        return request._pim_admin_refusal
    from accounts.mfa import mfa_is_fresh

    user = request.user
    if not (user.is_authenticated and user.is_active):
        refusal = ADMIN_NEEDS_SIGN_IN
    elif not user_holds_any(user=user, role_slugs=[RoleDefinition.GLOBAL_ADMINISTRATOR]):
        refusal = ADMIN_NEEDS_GLOBAL_ADMINISTRATOR
    elif not mfa_is_fresh(request):
        refusal = ADMIN_NEEDS_MFA
    else:
        refusal = None
    request._pim_admin_refusal = refusal
    return refusal
