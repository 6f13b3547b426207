from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import OutboxMessage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Read-only view of the outbox: what was queued, delivered, retried or given up."""

    list_display = ("created_at", "channel", "dedupe_key", "status", "attempts", "available_at", "delivered_at")
    list_filter = ("channel", "status")
    search_fields = ("dedupe_key", "last_error")

