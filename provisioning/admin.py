"""Read-only admin views of integrations. Endpoints are configured on the Integrations pages
(so secrets are sealed, changes audited and URLs checked); deliveries are written by the outbox relay.
SCIM applications are connector targets (connectors)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "description", "enabled", "created_at")
    exclude = ("secret_sealed",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "endpoint", "event", "status", "attempts", "last_status_code")
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)
