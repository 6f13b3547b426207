"""Reads for the integrations pages and the request timeline."""

from django.db.models import QuerySet

from assignments import selectors as assignment_selectors

from .models import WebhookDelivery, WebhookEndpoint

RECENT = 50


def user_manages_webhooks(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)


def webhook_endpoint_list() -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.select_related("created_by").order_by("url", "pk")


def webhook_deliveries_recent(*, endpoint: WebhookEndpoint, limit: int = RECENT) -> list[WebhookDelivery]:
    return list(WebhookDelivery.objects.filter(endpoint=endpoint).select_related("outbox_message")
                .order_by("-created_at")[:limit])
