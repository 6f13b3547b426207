from django.contrib import admin

from .models import ApiToken


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Read-only: tokens are created and revoked on the API tokens page (shown once, audited)."""

    list_display = ("name", "prefix", "kind", "principal", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("kind",)
    list_select_related = ("principal",)
    exclude = ("secret_hash",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
