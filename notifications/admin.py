from django.contrib import admin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    """Read-only view of the outbox: what was queued, delivered, retried or given up."""

    list_display = ("created_at", "channel", "dedupe_key", "status", "attempts", "available_at", "delivered_at")
    list_filter = ("channel", "status")
    search_fields = ("dedupe_key", "last_error")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
