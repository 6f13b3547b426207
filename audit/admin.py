from django.contrib import admin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    list_display = ("seq", "occurred_at", "action", "outcome", "actor_label", "principal_label", "role_label",
                    "scope_path")
    list_filter = ("outcome", "action")
    search_fields = ("actor_label", "principal_label", "role_label", "scope_path", "justification", "ticket")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
