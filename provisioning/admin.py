"""Read-only admin views of integrations. Endpoints and applications are configured on the
Integrations pages (so secrets are sealed, changes audited and URLs checked); deliveries and SCIM
operations are written by the outbox relay."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ScimApplication, ScimOperation, WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    list_display = ("url", "description", "enabled", "created_at")
    exclude = ("secret_sealed",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "endpoint", "event", "status", "attempts", "last_status_code")
    list_filter = ("status", "event")
    list_select_related = ("endpoint",)


@admin.register(ScimApplication)
class ScimApplicationAdmin(ReadOnlyAdmin):
    list_display = ("name", "group", "base_url", "enabled", "created_at")
    exclude = ("token_sealed",)
    list_select_related = ("group",)


@admin.register(ScimOperation)
class ScimOperationAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "application", "principal", "action", "status", "attempts")
    list_filter = ("status", "action")
    list_select_related = ("application", "principal")
