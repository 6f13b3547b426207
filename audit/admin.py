from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditWitnessState


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


@admin.register(AuditWitnessState)
class AuditWitnessStateAdmin(ReadOnlyAdmin):
    list_display = ("last_seq", "last_checkpoint_id", "witnessed_at", "failing_since", "last_error")
