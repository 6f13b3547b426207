"""Input and output shapes of the API. Validation of shape only; every rule lives in the services."""

import uuid

from django.core.exceptions import ObjectDoesNotExist
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from approvals.models import ApprovalDecision, Request
from approvals.services import BATCH_LIMIT
from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope
from audit.models import AuditEvent
from core.config_changes import REASON_LIMIT
from core.ids import parse_id
from selfservice.models import RequestWaiver

from .models import ApiToken

# --- Reference fields: accept an id or a natural key ---------------------------------------------------


def resolve_role(value: str) -> RoleDefinition | None:
    value = str(value).strip()
    pk = parse_id(value)
    if pk is not None:
        return RoleDefinition.objects.filter(pk=pk).first()
    return RoleDefinition.objects.filter(slug=value).first()


def resolve_scope(value: str) -> Scope | None:
    value = str(value).strip()
    pk = parse_id(value)
    if pk is not None:
        return Scope.objects.filter(pk=pk).select_related("group").first()
    return Scope.objects.filter(path=value).select_related("group").first()


def resolve_principal(value: str) -> Principal | None:
    """A principal by id, object id (UUID) or username."""
    value = str(value).strip()
    pk = parse_id(value)
    if pk is not None:
        return Principal.objects.filter(pk=pk).first()
    try:
        return Principal.objects.filter(object_id=uuid.UUID(value)).first()
    except ValueError:
        return Principal.objects.filter(user__username=value).first()


class _ReferenceField(serializers.CharField):
    resolver = None
    what = "object"

    MAX_LENGTH = 512

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            data = str(data)
        text = super().to_internal_value(data)
        if len(text) > self.MAX_LENGTH:
            raise serializers.ValidationError(f"At most {self.MAX_LENGTH} characters.")
        self.run_validators(text)  # NUL and surrogate characters, before any lookup
        found = type(self).resolver(text)
        if found is None:
            raise serializers.ValidationError(f"No such {self.what}: {text}.")
        return found


class RoleField(_ReferenceField):
    resolver = staticmethod(resolve_role)
    what = "role"


class ScopeField(_ReferenceField):
    resolver = staticmethod(resolve_scope)
    what = "scope"


class PrincipalField(_ReferenceField):
    resolver = staticmethod(resolve_principal)
    what = "principal"


# --- Directory ----------------------------------------------------------------------------------------


class RoleDefinitionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoleDefinition
        fields = ["id", "slug", "name", "kind", "description", "is_builtin", "is_privileged"]


class ScopeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scope
        fields = ["id", "path", "kind", "display_name", "parent", "group"]


class PrincipalSerializer(serializers.ModelSerializer):
    username = serializers.SerializerMethodField()

    class Meta:
        model = Principal
        fields = ["id", "object_id", "kind", "display_name", "email", "enabled", "username", "role_assignable",
                  "app_id"]

    def get_username(self, obj) -> str | None:
        return obj.user.username if obj.user_id else None


class ApprovalStageSerializer(serializers.Serializer):
    """One ordered approval stage of a policy (issue 18)."""

    position = serializers.IntegerField(read_only=True)
    name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    approvers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                      max_length=100, default=list, help_text="Principal ids of users or groups.")
    owners_of_scope = serializers.BooleanField(required=False, default=False,
                                               help_text="Owners at or above the request's scope approve too.")
    approvals_required = serializers.IntegerField(required=False, default=1, min_value=0, max_value=100)
    timeout_minutes = serializers.IntegerField(required=False, default=24 * 60, min_value=0, max_value=10**6)
    escalate_on_timeout = serializers.BooleanField(required=False, default=False)
    fallback_approvers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62),
                                               required=False, max_length=100, default=list)
    fallback_approvals_required = serializers.IntegerField(required=False, default=1, min_value=0, max_value=100)
    reminder_every_minutes = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0,
                                                      max_value=10**6, help_text="null: the portal's default; 0: none.")

    def to_representation(self, stage):
        return {"position": stage.position, "name": stage.name,
                "approvers": [p.pk for p in stage.approvers.all()], "owners_of_scope": stage.owners_of_scope,
                "approvals_required": stage.approvals_required, "timeout_minutes": stage.timeout_minutes,
                "escalate_on_timeout": stage.escalate_on_timeout,
                "fallback_approvers": [p.pk for p in stage.fallback_approvers.all()],
                "fallback_approvals_required": stage.fallback_approvals_required,
                "reminder_every_minutes": stage.reminder_every_minutes}


class RoleSettingSerializer(serializers.ModelSerializer):
    role_slug = serializers.CharField(source="role.slug", read_only=True)
    scope_path = serializers.CharField(source="scope.path", read_only=True)
    approvers = serializers.SerializerMethodField()
    stages = ApprovalStageSerializer(many=True, read_only=True,
                                     help_text="Ordered approval stages; empty: the approvers above are one stage.")

    class Meta:
        model = RoleSetting
        fields = ["id", "role", "role_slug", "scope", "scope_path", "max_activation_minutes",
                  "require_mfa_on_activation", "require_justification_on_activation", "require_ticket_on_activation",
                  "require_approval", "approvers", "approvals_required", "approval_window_minutes",
                  "trusted_networks", "allowed_time_windows", "allowed_time_windows_zone", "allow_permanent_eligible",
                  "expire_eligible_after",
                  "allow_permanent_active", "expire_active_after", "require_mfa_on_active_assignment",
                  "require_justification_on_active_assignment", "allow_service_principal_activation",
                  "notifications", "stages", "updated_at"]

    def get_approvers(self, obj) -> list[int]:
        return [p.pk for p in obj.approvers.all()]


def change_reason_field() -> serializers.CharField:
    """Why a change of versioned configuration is made: required, recorded with its version and audit event."""
    return serializers.CharField(max_length=REASON_LIMIT, write_only=True,
                                 help_text="Why: recorded with the change in the version history and the audit log.")


class ChangeReasonSerializer(serializers.Serializer):
    reason = change_reason_field()


class RoleSettingWriteSerializer(serializers.Serializer):
    """Create or change the policy of a role at a scope. Only the fields given change."""

    role = RoleField()
    reason = change_reason_field()
    scope = ScopeField(required=False, help_text="Scope path or id; default the root '/'.")
    max_activation_minutes = serializers.IntegerField(required=False, min_value=0, max_value=10**6)
    require_mfa_on_activation = serializers.BooleanField(required=False)
    require_justification_on_activation = serializers.BooleanField(required=False)
    require_ticket_on_activation = serializers.BooleanField(required=False)
    require_approval = serializers.BooleanField(required=False)
    approvals_required = serializers.IntegerField(required=False, min_value=0, max_value=100)
    approval_window_minutes = serializers.IntegerField(required=False, min_value=0, max_value=10**6)
    trusted_networks = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    allowed_time_windows = serializers.CharField(required=False, allow_blank=True, max_length=10000)
    allowed_time_windows_zone = serializers.CharField(
        required=False, max_length=64, help_text="IANA zone the windows are read in (e.g. Europe/Paris); unchanged "
                                                 "when omitted (UTC for a new policy).")
    allow_permanent_eligible = serializers.BooleanField(required=False)
    expire_eligible_after = serializers.ChoiceField(choices=RoleSetting.EXPIRATION_CHOICES, required=False)
    allow_permanent_active = serializers.BooleanField(required=False)
    expire_active_after = serializers.ChoiceField(choices=RoleSetting.EXPIRATION_CHOICES, required=False)
    require_mfa_on_active_assignment = serializers.BooleanField(required=False)
    require_justification_on_active_assignment = serializers.BooleanField(required=False)
    allow_service_principal_activation = serializers.BooleanField(
        required=False, help_text="Service principals may be eligible and request activation; a person always "
                                  "approves it.")
    notifications = serializers.JSONField(required=False)

    def validate_notifications(self, value):
        import json

        text = json.dumps(value)
        if "\\u0000" in text or any(0xD800 <= ord(c) <= 0xDFFF for c in json.dumps(value, ensure_ascii=False)):
            raise serializers.ValidationError("Null and surrogate characters are not allowed.")
        return value
    approvers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                      max_length=100, help_text="Principal ids of users or groups.")


# --- Assignments ----------------------------------------------------------------------------------


class AssignmentSerializer(serializers.ModelSerializer):
    principal_display_name = serializers.CharField(source="principal.display_name", read_only=True)
    principal_kind = serializers.CharField(source="principal.kind", read_only=True)
    role_slug = serializers.CharField(source="role.slug", read_only=True)
    role_name = serializers.CharField(source="role.name", read_only=True)
    scope_path = serializers.CharField(source="scope.path", read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "principal", "principal_display_name", "principal_kind", "role", "role_slug", "role_name",
                  "scope", "scope_path", "kind", "status", "start_at", "end_at", "activated_from", "justification",
                  "ticket_system", "ticket_number", "origin", "created_at", "ended_at", "end_reason"]


class AssignmentCreateSerializer(serializers.Serializer):
    principal = PrincipalField(help_text="Principal id, object id or username.")
    role = RoleField(help_text="Role slug or id.")
    scope = ScopeField(help_text="Scope path or id.")
    kind = serializers.ChoiceField(choices=Assignment.Kind.choices)
    start_at = serializers.DateTimeField(required=False, allow_null=True)
    end_at = serializers.DateTimeField(required=False, allow_null=True)
    justification = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    ticket_system = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    ticket_number = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


# --- Requests and approvals ----------------------------------------------------------------------


class DecisionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalDecision
        fields = ["approver", "on_behalf_of", "stage_position", "decision", "comment", "decided_at"]


class RequestWaiverSerializer(serializers.ModelSerializer):
    rule = serializers.IntegerField(source="rule_id", allow_null=True,
                                    help_text="The auto-approval rule (null for break-glass, or once deleted).")

    class Meta:
        model = RequestWaiver
        fields = ["kind", "rule", "rule_name", "reason", "created_at"]


def request_waiver(request: Request) -> RequestWaiver | None:
    """What approved an activation without approvers. Only approved self activations can have one, so the
    others (and pending requests, as in the approvals queue) cost no query; lists select it."""
    if request.action != Request.Action.SELF_ACTIVATE or request.status == Request.Status.PENDING_APPROVAL:
        return None
    if getattr(request, "approval_waived", None) is False:  # just filed, and no rule waived its approval
        return None
    try:
        return request.waiver
    except ObjectDoesNotExist:
        return None


class RequestSerializer(serializers.ModelSerializer):
    role_slug = serializers.CharField(source="role.slug", read_only=True)
    scope_path = serializers.CharField(source="scope.path", read_only=True)
    principal_display_name = serializers.CharField(source="principal.display_name", read_only=True)
    decisions = DecisionSerializer(many=True, read_only=True)
    approved_without_approvers = serializers.SerializerMethodField(
        help_text="The auto-approval rule or break-glass that approved this activation; null otherwise.")
    stage = serializers.SerializerMethodField(help_text="The stage the request waits at (or last waited at); "
                                                        "null without stages.")

    class Meta:
        model = Request
        fields = ["id", "action", "status", "requested_by", "principal", "principal_display_name", "role",
                  "role_slug", "scope", "scope_path", "kind", "eligible_assignment", "assignment", "start_at", "end_at",
                  "duration_minutes", "justification", "ticket_system", "ticket_number", "approvals_required",
                  "approval_deadline", "stage", "stage_escalated", "status_message", "created_at", "decided_at",
                  "provisioned_at", "decisions", "approved_without_approvers"]

    def get_stage(self, obj) -> int | None:
        return obj.approval_stage.position if obj.approval_stage_id else None

    @extend_schema_field(RequestWaiverSerializer(allow_null=True))
    def get_approved_without_approvers(self, obj) -> dict | None:
        waiver = request_waiver(obj)
        return None if waiver is None else RequestWaiverSerializer(waiver).data


class RequestCreateSerializer(serializers.Serializer):
    """One request pipeline. Which fields an action reads:

    - self_activate: assignment (the eligible one), scope (optional, narrower), duration_minutes, start_at,
      justification, ticket_system, ticket_number
    - self_deactivate: assignment (the activation), justification
    - self_extend: assignment, duration_minutes or end_at, justification
    - self_renew: assignment, end_at, justification
    - admin_assign: principal, role, scope, kind, start_at, end_at, justification, ticket_system, ticket_number
    - admin_update: assignment, start_at, end_at, justification
    - admin_remove: assignment, justification
    - admin_extend / admin_renew: assignment, end_at, justification
    - admin_make_active: assignment (an eligible one), justification
    """

    action = serializers.ChoiceField(choices=Request.Action.choices)
    assignment = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    principal = PrincipalField(required=False)
    role = RoleField(required=False)
    scope = ScopeField(required=False)
    kind = serializers.ChoiceField(choices=Assignment.Kind.choices, required=False)
    duration_minutes = serializers.IntegerField(required=False, min_value=1, max_value=10**6)
    start_at = serializers.DateTimeField(required=False, allow_null=True)
    end_at = serializers.DateTimeField(required=False, allow_null=True)
    justification = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    ticket_system = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    ticket_number = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class RequestResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    request = RequestSerializer(allow_null=True)
    assignment = AssignmentSerializer(allow_null=True)


class DecisionInputSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    start_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="Extensions and renewals only: the start to approve (omit or null: as requested). An extension "
                  "keeps the start of an assignment that has begun; a renewal starts now or later.")
    end_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None,
        help_text="Extensions and renewals only: the end to approve (omit or null: as requested), checked "
                  "against the role's policy like an administrator's extension or renewal.")


class BulkApproveInputSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.UUIDField(), min_length=1, max_length=BATCH_LIMIT,
                                help_text=f"The requests to approve (at most {BATCH_LIMIT}); each is decided on its "
                                          "own, with the same rules as approving it alone.")
    comment = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class BulkApproveOutcomeSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="request_id")
    outcome = serializers.ChoiceField(choices=["approved", "recorded", "failed", "refused"],
                                      help_text="approved; recorded (your approval counts, more are needed); "
                                                "failed (approved, but it could not be carried out); refused "
                                                "(nothing changed: see message).")
    ok = serializers.BooleanField()
    message = serializers.CharField()


class BulkApproveResultSerializer(serializers.Serializer):
    results = BulkApproveOutcomeSerializer(many=True, help_text="One per requested id, in the order given.")


class DenyInputSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, help_text="A reason is required.")


# --- Audit ----------------------------------------------------------------------------------------


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "action", "outcome", "actor_id", "actor_label", "target_type", "target_id",
                  "target_label", "principal_id", "principal_label", "role_id", "role_label", "scope_path",
                  "justification", "ticket", "message", "before", "after", "correlation_id", "client_ip",
                  "prev_hash", "hash"]


# --- Check ------------------------------------------------------------------------------------------


class CheckQuerySerializer(serializers.Serializer):
    principal = serializers.CharField(max_length=200, help_text="Principal id, object id (UUID) or username.")
    role = serializers.CharField(max_length=100, required=False, help_text="Role slug or id.")
    action = serializers.CharField(max_length=300, required=False,
                                   help_text="A permission action, e.g. microsoft.directory/users/password/update.")
    scope = serializers.CharField(max_length=512, default="/", help_text="Scope path; default the root '/'.")

    def validate(self, attrs):
        if bool(attrs.get("role")) == bool(attrs.get("action")):
            raise serializers.ValidationError({"role": "Give either role or action (exactly one)."})
        return attrs


class CheckResultSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    assignment = serializers.IntegerField(allow_null=True)
    via_group = serializers.IntegerField(allow_null=True)
    ends_at = serializers.DateTimeField(allow_null=True)
    evaluated_at = serializers.DateTimeField()
    error = serializers.CharField(required=False)


class PingSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    principal = serializers.IntegerField()


# --- Tokens ---------------------------------------------------------------------------------------


class ApiTokenSerializer(serializers.ModelSerializer):
    display_id = serializers.CharField(read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "display_id", "name", "kind", "principal", "created_at", "expires_at", "revoked_at",
                  "last_used_at"]
