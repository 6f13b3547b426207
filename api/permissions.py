"""Who may call the API at all. What a caller may do with an object is decided by the services and
selectors (the access check), never here."""

from rest_framework.permissions import BasePermission


class IsAuthenticatedPrincipal(BasePermission):
    """A signed-in person with a principal, or a service principal credential."""

    message = "Authenticate with 'Authorization: Bearer pim_…' (or a portal session)."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "principal"))
