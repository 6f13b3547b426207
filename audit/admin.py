from django.contrib import admin

from .models import AuditChainHead, AuditCheckpoint, AuditEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Read-only: the audit log is append-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "occurred_at", "action", "outcome", "actor_label", "principal_label", "role_label",
                    "scope_path")
    list_filter = ("outcome", "action")
    search_fields = ("actor_label", "principal_label", "role_label", "scope_path", "justification", "ticket")
    show_full_result_count = False


@admin.register(AuditCheckpoint)
class AuditCheckpointAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "last_seq", "created_at", "key_id", "signature")
    list_filter = ("kind",)


@admin.register(AuditChainHead)
class AuditChainHeadAdmin(ReadOnlyAdmin):
    list_display = ("last_seq", "last_hash")
