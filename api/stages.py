"""Staged approval and delegation in the REST API (issue 18): a policy's approval stages (read on the
role settings list, replaced here), and the caller's delegations (list, give, revoke). Thin views over
`assignments.services.role_setting_stages_set` and `approvals.services.delegation_*`, with the rights,
step-up and audit of the pages."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from approvals import selectors as approval_selectors
from approvals import services as approval_services
from approvals.models import ApprovalDelegation
from assignments import selectors as assignment_selectors
from assignments.models import RoleSetting, User
from assignments.services import role_setting_stages_set

from . import serializers as s
from .authentication import is_service_principal_actor
from .views import PimAPIView, _actor, _int_id, _person, _run_write


class RoleSettingStagesWriteSerializer(serializers.Serializer):
    """Replace the approval stages of the policy of a role at a scope (an empty list: no stages)."""

    role = s.RoleField()
    scope = s.ScopeField(required=False, help_text="Scope path or id; default the root '/'.")
    stages = s.ApprovalStageSerializer(many=True, help_text="In order; at most 5.")
    reason = s.change_reason_field()


class RoleSettingStages(PimAPIView):
    @extend_schema(operation_id="role_settings_stages_set", request=RoleSettingStagesWriteSerializer,
                   responses={200: s.RoleSettingSerializer}, tags=["role settings"])
    def post(self, request):
        body = RoleSettingStagesWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        role, scope = data["role"], data.get("scope") or assignment_selectors.scope_root()
        stages = [{k: v for k, v in stage.items() if k != "position"} for stage in data["stages"]]
        _run_write(request, lambda: role_setting_stages_set(actor=_actor(request), role=role, scope=scope,
                                                            stages=stages, reason=data["reason"]))
        setting = RoleSetting.objects.select_related("role", "scope").prefetch_related(
            "approvers", "stages__approvers", "stages__fallback_approvers").get(role=role, scope=scope)
        return Response(s.RoleSettingSerializer(setting).data)


class DelegationSerializer(serializers.ModelSerializer):
    delegator_username = serializers.CharField(source="delegator.username", read_only=True)
    delegate_username = serializers.CharField(source="delegate.username", read_only=True)

    class Meta:
        model = ApprovalDelegation
        fields = ["id", "delegator", "delegator_username", "delegate", "delegate_username", "starts_at", "ends_at",
                  "reason", "created_at", "revoked_at", "revoked_by"]


class DelegationCreateSerializer(serializers.Serializer):
    delegate = serializers.CharField(max_length=150, help_text="User name (or user id) of the delegate.")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class DelegationListSerializer(serializers.Serializer):
    results = DelegationSerializer(many=True)


DELEGATION_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Delegation id")


def _delegate(text: str):
    found = assignment_selectors.user_by_username(username=text)
    if found is None and text.isdigit():
        found = User.objects.filter(pk=int(text)).first()
    return found


class DelegationList(PimAPIView):
    """The delegations the caller gave or received (newest first), and giving one."""

    @extend_schema(operation_id="delegations_list", responses=DelegationListSerializer, tags=["approvals"])
    def get(self, request):
        if is_service_principal_actor(request.user):
            return Response({"results": []})  # service principals neither approve nor delegate
        rows = approval_selectors.delegations_of(user=request.user)[:200]
        return Response({"results": DelegationSerializer(rows, many=True).data})

    @extend_schema(operation_id="delegations_create", request=DelegationCreateSerializer,
                   responses={201: DelegationSerializer}, tags=["approvals"])
    def post(self, request):
        actor = _person(request, "delegate approvals")
        body = DelegationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        delegate = _delegate(data["delegate"].strip())
        created = _run_write(request, lambda: approval_services.delegation_create(
            actor=actor, delegate=delegate if delegate is not None else 0, starts_at=data["starts_at"],
            ends_at=data["ends_at"], reason=data["reason"]))
        return Response(DelegationSerializer(created).data, status=status.HTTP_201_CREATED)


class DelegationRevoke(PimAPIView):
    @extend_schema(operation_id="delegations_revoke", parameters=[DELEGATION_ID], request=None,
                   responses=DelegationSerializer, tags=["approvals"])
    def post(self, request, pk: str):
        actor = _person(request, "revoke a delegation")
        done = _run_write(request, lambda: approval_services.delegation_revoke(actor=actor, delegation=_int_id(pk)))
        return Response(DelegationSerializer(done).data)
