"""Who may use the Django admin (`user_capabilities`, for the pages, is `assignments.capabilities`)."""

from assignments.models import RoleDefinition
from assignments.selectors import user_holds_any
from core.mfa import mfa_is_fresh

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
