"""Read-only admin views of access reviews: definitions, instances and items change only through
`reviews.services` (so every step is audited and guarded)."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AccessReview, AccessReviewInstance, AccessReviewItem


@admin.register(AccessReview)
class AccessReviewAdmin(ReadOnlyAdmin):
    list_display = ("name", "role", "scope", "recurrence", "reviewer_type", "auto_apply", "created_by", "created_at")
    list_filter = ("recurrence", "reviewer_type", "auto_apply")
    search_fields = ("name", "role__name", "scope__path")
    list_select_related = ("role", "scope", "created_by")


@admin.register(AccessReviewInstance)
class AccessReviewInstanceAdmin(ReadOnlyAdmin):
    list_display = ("review", "sequence", "status", "start_at", "end_at", "item_count", "applied_at")
    list_filter = ("status",)
    list_select_related = ("review",)


@admin.register(AccessReviewItem)
class AccessReviewItemAdmin(ReadOnlyAdmin):
    list_display = ("instance", "principal", "role", "scope", "kind", "decision", "decided_by", "decided_at",
                    "apply_state")
    list_filter = ("decision", "apply_state", "kind")
    search_fields = ("principal__display_name", "reason")
    list_select_related = ("instance", "principal", "role", "scope", "decided_by")
    raw_id_fields = ("instance", "assignment", "principal", "decided_by")
    show_full_result_count = False
