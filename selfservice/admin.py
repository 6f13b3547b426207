from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import (
    AutoApprovalRule,
    BreakGlassReview,
    OnCallShift,
    RequestBatch,
    RequestBatchItem,
    RequestRules,
    RequestWaiver,
)


@admin.register(RequestRules)
class RequestRulesAdmin(ReadOnlyAdmin):
    """Read-only: request rules change on the role settings pages and the API."""

    list_display = ("setting", "justification_min_length", "ticket_pattern", "allow_break_glass")


@admin.register(AutoApprovalRule)
class AutoApprovalRuleAdmin(ReadOnlyAdmin):
    list_display = ("name", "setting", "position", "enabled", "on_call", "group")
    list_select_related = ("setting", "group")


@admin.register(OnCallShift)
class OnCallShiftAdmin(ReadOnlyAdmin):
    list_display = ("rule", "user", "start_at", "end_at")
    list_select_related = ("rule", "user")


@admin.register(RequestWaiver)
class RequestWaiverAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "request", "kind", "rule_name")
    list_filter = ("kind",)


@admin.register(BreakGlassReview)
class BreakGlassReviewAdmin(ReadOnlyAdmin):
    list_display = ("opened_at", "request", "status", "due_at", "escalated_at", "outcome")
    list_filter = ("status", "outcome")


class BatchItemInline(admin.TabularInline):
    model = RequestBatchItem
    extra = 0
    can_delete = False
    readonly_fields = ("request", "position")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RequestBatch)
class RequestBatchAdmin(ReadOnlyAdmin):
    """Read-only: batches are made on the catalogue page or the API."""

    list_display = ("created_at", "requested_by")
    inlines = [BatchItemInline]


@admin.register(RequestBatchItem)
class RequestBatchItemAdmin(ReadOnlyAdmin):
    list_display = ("batch", "position", "request")
    list_select_related = ("batch", "request")
