"""Shapes of the request rules in the API: a role setting's justification, ticket and break-glass rules,
its auto-approval rules and rosters, break-glass activations and their reviews, and what approved a
request without approvers."""

from rest_framework import serializers

from selfservice.models import AutoApprovalRule, BreakGlassReview, RequestRules

from .serializers import RequestSerializer, RoleField, ScopeField


class RequestRulesSerializer(serializers.ModelSerializer):
    setting = serializers.IntegerField(source="setting_id", read_only=True)
    updated_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="Null: never set (defaults).")

    class Meta:
        model = RequestRules
        fields = ["setting", "justification_min_length", "justification_pattern", "justification_hint",
                  "ticket_pattern", "ticket_hint", "ticket_endpoint_url", "allow_break_glass",
                  "break_glass_review_hours", "updated_at"]


class RequestRulesInputSerializer(serializers.Serializer):
    justification_min_length = serializers.IntegerField(required=False, min_value=0, max_value=2000)
    justification_pattern = serializers.CharField(required=False, allow_blank=True, max_length=500)
    justification_hint = serializers.CharField(required=False, allow_blank=True, max_length=300)
    ticket_pattern = serializers.CharField(required=False, allow_blank=True, max_length=300)
    ticket_hint = serializers.CharField(required=False, allow_blank=True, max_length=300)
    ticket_endpoint_url = serializers.CharField(
        required=False, allow_blank=True, max_length=500,
        help_text="http(s) URL containing {ticket}; GET answers 2xx for a known ticket, 404 for an unknown one.")
    allow_break_glass = serializers.BooleanField(required=False)
    break_glass_review_hours = serializers.IntegerField(required=False, min_value=1, max_value=720)


class AutoApprovalRuleSerializer(serializers.ModelSerializer):
    setting = serializers.IntegerField(source="setting_id", read_only=True)
    group = serializers.IntegerField(source="group_id", allow_null=True, required=False)
    shifts = serializers.IntegerField(source="shifts.count", read_only=True)

    class Meta:
        model = AutoApprovalRule
        fields = ["id", "setting", "name", "position", "enabled", "group", "on_call", "roster_url", "roster_zone",
                  "roster_imported_at", "roster_checked_at", "roster_fetch_error", "shifts", "time_windows",
                  "time_windows_zone", "ticket_pattern", "max_duration_minutes", "created_at"]
        read_only_fields = ["id", "position", "enabled", "roster_imported_at", "roster_checked_at",
                            "roster_fetch_error", "created_at"]


class RosterImportResultSerializer(serializers.Serializer):
    shifts = serializers.IntegerField()
    replaced = serializers.IntegerField()
    events_naming_nobody_known = serializers.IntegerField()
    skipped = serializers.ListField(child=serializers.CharField())
    unmatched = serializers.ListField(child=serializers.CharField())


class BreakGlassInputSerializer(serializers.Serializer):
    assignment = serializers.IntegerField(min_value=1, max_value=2**62, help_text="The eligible assignment.")
    reason = serializers.CharField(max_length=2000, allow_blank=True)
    duration_minutes = serializers.IntegerField(min_value=1, max_value=10**6)
    ticket_system = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    ticket_number = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class BreakGlassReviewSerializer(serializers.ModelSerializer):
    request = serializers.UUIDField(source="request_id", read_only=True)
    principal = serializers.CharField(source="request.principal.display_name", read_only=True)
    role_slug = serializers.CharField(source="request.role.slug", read_only=True)
    scope_path = serializers.CharField(source="request.scope.path", read_only=True)
    completed_by = serializers.CharField(source="completed_by.username", allow_null=True, read_only=True)

    class Meta:
        model = BreakGlassReview
        fields = ["id", "request", "principal", "role_slug", "scope_path", "status", "opened_at", "due_at",
                  "escalated_at", "completed_at", "completed_by", "outcome", "comment"]


class BreakGlassReviewCompleteSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=BreakGlassReview.Outcome.choices)
    comment = serializers.CharField(max_length=2000, allow_blank=True)


class CatalogueItemSerializer(serializers.Serializer):
    role = RoleField(help_text="Role id or slug.")
    scope = ScopeField(help_text="Scope id or path.")


class EligibilityRequestInputSerializer(serializers.Serializer):
    items = CatalogueItemSerializer(many=True, help_text="One request per (role, scope), at most 20.")
    end_at = serializers.DateTimeField(help_text="The end of the eligibility asked for, within each role's policy.")
    justification = serializers.CharField(max_length=2000, allow_blank=True)


class BatchItemSerializer(RequestSerializer):
    can_decide = serializers.SerializerMethodField(help_text="May the caller approve or deny this item now?")

    class Meta(RequestSerializer.Meta):
        fields = [*RequestSerializer.Meta.fields, "can_decide"]

    def get_can_decide(self, obj) -> bool:
        return bool(getattr(obj, "can_decide", False))


class RequestBatchSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    requested_by = serializers.IntegerField(source="requested_by_id")
    justification = serializers.CharField()
    created_at = serializers.DateTimeField()
    items = BatchItemSerializer(many=True, source="loaded_items",
                                help_text="Decide each with /approvals/{id}/approve/ or /deny/.")
