"""Reads for the integrations pages and the request timeline."""

from django.db.models import QuerySet

from assignments import selectors as assignment_selectors
from assignments.models import Principal, RoleDefinition

from .models import ScimApplication, ScimOperation, WebhookDelivery, WebhookEndpoint

RECENT = 50


def user_manages_webhooks(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)


def groups_manageable_by(*, user) -> QuerySet[Principal]:
    """Groups whose applications `user` may configure: all for Privileged Role / Global Administrators;
    otherwise those the user owns now (directly or through a group)."""
    groups = Principal.objects.filter(kind=Principal.Kind.GROUP, group_scope__isnull=False)
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "principal"):
        return groups.none()
    if assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
        return groups.order_by("display_name")
    owned_scopes = assignment_selectors.user_held_scope_ids(user=user, role_slugs=[RoleDefinition.GROUP_OWNER])
    return groups.filter(group_scope__in=owned_scopes).order_by("display_name")


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.select_related("created_by").order_by("url", "pk")


def webhook_deliveries_recent(*, endpoint: WebhookEndpoint, limit: int = RECENT) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).select_related("outbox_message")
                .order_by("-created_at")[:limit])


def scim_application_list(*, user) -> QuerySet[ScimApplication]:
    return (ScimApplication.objects.filter(group__in=groups_manageable_by(user=user))
            .select_related("group").order_by("group__display_name", "name"))


def scim_operations_recent(*, application: ScimApplication, limit: int = RECENT) -> list[ScimOperation]:
    return list(ScimOperation.objects.filter(application=application)
                .select_related("principal", "request", "outbox_message").order_by("-created_at", "-pk")[:limit])


def provisioning_status_for_request(*, request) -> list[ScimOperation]:
    """The SCIM operations a PIM request caused, for its timeline (one query).

    Each item has: `application.name`, `get_action_display()` ("Add member" / "Remove member"),
    `status` ("pending" / "done" / "failed") and `get_status_display()`, `attempts`, `last_error`,
    `detail`, `not_before`, `last_attempt_at`, `done_at`, `created_at`.
    """
    return list(ScimOperation.objects.filter(request_id=request.pk).select_related("application")
                .order_by("created_at", "pk"))
