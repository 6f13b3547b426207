"""Who may call the API at all. What a caller may do with an object is decided by the services and
selectors (the access check), never here."""

from django.conf import settings
from rest_framework.permissions import BasePermission


class IsAuthenticatedPrincipal(BasePermission):
    """A signed-in person with a principal, or a service principal credential."""

    message = "Authenticate with 'Authorization: Bearer pim_…' (or a portal session)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "principal"))


class ApiDocsPermission(BasePermission):
    """The OpenAPI schema: for any signed-in caller, or for everyone when settings.PIM_API_DOCS_PUBLIC."""

    message = "The API schema needs a signed-in caller (Authorization: Bearer pim_…, or a portal session)."

    def has_permission(self, request, view) -> bool:
        return settings.PIM_API_DOCS_PUBLIC or IsAuthenticatedPrincipal().has_permission(request, view)
