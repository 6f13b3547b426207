from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ApiToken, DeviceAuthorization


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Read-only: tokens are created and revoked on the API tokens page (shown once, audited)."""

    list_display = ("name", "prefix", "kind", "principal", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("kind",)
    list_select_related = ("principal",)
    exclude = ("secret_hash",)



@admin.register(DeviceAuthorization)
class DeviceAuthorizationAdmin(ReadOnlyAdmin):
    """Read-only: command-line sign-ins are started by `pim login` and answered on the approval page."""

    list_display = ("client_name", "user_code", "status", "user", "created_at", "expires_at", "decided_at")
    list_filter = ("status",)
    exclude = ("device_code_hash",)
