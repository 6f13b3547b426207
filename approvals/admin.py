from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ApprovalDecision, ApprovalDelegation, Request


class DecisionInline(admin.TabularInline):
    model = ApprovalDecision
    extra = 0
    can_delete = False
    readonly_fields = ("approver", "on_behalf_of", "stage_position", "decision", "comment", "decided_at")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Request)
class RequestAdmin(ReadOnlyAdmin):
    """Read-only: requests change only through the request pipeline."""

    list_display = ("created_at", "action", "status", "principal", "role", "scope", "requested_by")
    list_filter = ("action", "status")
    search_fields = ("principal__display_name", "role__name", "justification", "ticket_number")
    inlines = [DecisionInline]



@admin.register(ApprovalDecision)
class ApprovalDecisionAdmin(ReadOnlyAdmin):
    """Read-only: decisions are made on the approvals pages or the API."""

    list_display = ("decided_at", "request", "approver", "decision")
    list_filter = ("decision",)
    list_select_related = ("request", "approver")


@admin.register(ApprovalDelegation)
class ApprovalDelegationAdmin(ReadOnlyAdmin):
    """Read-only: delegations are given and revoked on the Delegation page or the API (audited)."""

    list_display = ("delegator", "delegate", "starts_at", "ends_at", "revoked_at")
    list_select_related = ("delegator", "delegate")
