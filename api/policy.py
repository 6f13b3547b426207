"""Policy as code in the REST API: export the configuration as YAML, plan and apply an import (from CI),
the version history with rollback, dual control, and proposals with their decisions. Reads are for
directory administrators and auditors; every write goes through `policy.services` as the caller, whose
rights (and MFA: an administrative token) the owners' services check."""

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments.models import Scope
from core.errors import forbidden, invalid, not_found
from policy import documents, selectors, services
from policy.models import ConfigVersion, Proposal

from .governance import ExplanationSerializer, WhatIfRequestSerializer
from .governance import _principal as _whatif_principal
from .views import PimAPIView, _actor, _run_write

KIND_HELP = ("role_setting, connector_mapping, alert_setting, dual_control (versioned); scope, role, eligibility "
             "(imported and exported)")


class DiffSerializer(serializers.Serializer):
    field = serializers.CharField()
    before = serializers.JSONField(allow_null=True)
    after = serializers.JSONField(allow_null=True)


class VersionSerializer(serializers.ModelSerializer):
    diff = DiffSerializer(many=True)
    created_by = serializers.CharField(source="actor_label")

    class Meta:
        model = ConfigVersion
        fields = ["id", "kind", "key", "number", "data", "diff", "source", "reason", "created_by", "proposal",
                  "rolled_back_to", "created_at"]


class ChangeSerializer(serializers.Serializer):
    # Not an enum: "kind" names other components' enums; the service names the known kinds when it refuses one.
    kind = serializers.CharField(max_length=40, help_text=KIND_HELP)
    key = serializers.CharField(max_length=700)
    data = serializers.JSONField(allow_null=True, help_text="The item's whole new state; null removes it.")


class ProposalSerializer(serializers.ModelSerializer):
    created_by = serializers.CharField(source="created_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    changes = ChangeSerializer(many=True)

    class Meta:
        model = Proposal
        fields = ["id", "title", "reason", "status", "changes", "base", "scope_paths", "created_by", "created_at",
                  "decided_by", "decided_at", "decision_comment"]


class ProposalCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=2000)
    changes = ChangeSerializer(many=True)


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class DocumentSerializer(serializers.Serializer):
    document = serializers.CharField(help_text="The YAML document, as GET /api/v1/policy/export returns it.")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                   help_text="Why (required to apply).")
    prune = serializers.BooleanField(required=False, default=False,
                                     help_text="Also delete the eligibility, connector mappings, approval stages and "
                                               "dual control the document does not list.")


class PlanChangeSerializer(serializers.Serializer):
    kind = serializers.CharField()
    key = serializers.CharField()
    action = serializers.CharField(help_text="create, update or delete")
    data = serializers.JSONField(allow_null=True)
    diff = DiffSerializer(many=True)


class PlanSerializer(serializers.Serializer):
    summary = serializers.CharField()
    changes = PlanChangeSerializer(many=True)
    unchanged = serializers.IntegerField()
    only_in_portal = serializers.ListField(child=serializers.DictField(),
                                           help_text="The unmanaged items: in the portal, not in the document, "
                                                     "left as they are.")
    unmanaged = serializers.IntegerField(help_text="How many items are unmanaged.")
    prune = serializers.BooleanField()
    text = serializers.CharField(help_text="The plan as `terraform plan` would print it.")


class OutcomeSerializer(serializers.Serializer):
    applied = serializers.IntegerField()
    proposal = serializers.IntegerField(allow_null=True, help_text="Under dual control: the proposal it became.")
    message = serializers.CharField()


class RollbackSerializer(serializers.Serializer):
    # Not an enum: "kind" names other components' enums; the service names the known kinds when it refuses one.
    kind = serializers.CharField(max_length=40, help_text=KIND_HELP)
    key = serializers.CharField(max_length=700)
    number = serializers.IntegerField(min_value=1)
    reason = serializers.CharField(max_length=2000)


class DualControlSerializer(serializers.Serializer):
    scope = serializers.CharField(max_length=512)
    enabled = serializers.BooleanField()
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True,
                                   help_text="Why (required to turn it off, which is a proposal).")


def _gate(request) -> None:
    if not selectors.policy_viewable_by(user=request.user):
        raise forbidden("The policy configuration is for directory administrators and auditors.")


def _write_gate(request) -> None:
    if not selectors.policy_writable_by(user=request.user):
        raise forbidden("Only Global Administrators and Privileged Role Administrators change the configuration "
                        "here.")


def _valid(serializer):
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        raise invalid(f"{field}: {' '.join(str(m) for m in messages)}", field=field)
    return serializer.validated_data


def _outcome(outcome: services.Outcome) -> dict:
    return {"applied": outcome.applied, "proposal": outcome.proposal.pk if outcome.proposal else None,
            "message": outcome.message}


def _proposal(pk: str) -> Proposal:
    found = Proposal.objects.filter(pk=int(pk)).first() if str(pk).isdigit() else None
    if found is None:
        raise not_found("No such proposal.")
    return found


class PolicyExport(PimAPIView):
    @extend_schema(operation_id="policy_export", tags=["policy"],
                   responses={(200, "application/yaml"): OpenApiResponse(
                       OpenApiTypes.OBJECT, description="The configuration as one YAML document: version, scopes, "
                                                        "roles, role_settings, connector_mappings, alert_settings, "
                                                        "eligibility, dual_control.")})
    def get(self, request):
        _gate(request)
        return HttpResponse(documents.config_export_yaml(), content_type="application/yaml; charset=utf-8")


class PolicyPlan(PimAPIView):
    @extend_schema(operation_id="policy_plan", request=DocumentSerializer, responses=PlanSerializer, tags=["policy"])
    def post(self, request):
        _gate(request)
        data = _valid(DocumentSerializer(data=request.data))
        plan = documents.config_plan(data["document"], prune=data["prune"])
        return Response({**plan.as_json(), "text": plan.as_text()})


class PolicyApply(PimAPIView):
    @extend_schema(operation_id="policy_apply", request=DocumentSerializer,
                   responses={200: OutcomeSerializer, 202: OutcomeSerializer}, tags=["policy"],
                   description="Applies the plan in one transaction (200), or, under dual control, makes it a "
                               "proposal (202). Applying the same document again changes nothing.")
    def post(self, request):
        _write_gate(request)
        data = _valid(DocumentSerializer(data=request.data))
        outcome = _run_write(request, lambda: services.config_import(actor=_actor(request), text=data["document"],
                                                                     reason=data.get("reason", ""),
                                                                     prune=data["prune"]))
        return Response(_outcome(outcome), status=status.HTTP_202_ACCEPTED if outcome.proposal else status.HTTP_200_OK)


class PolicyVersions(PimAPIView):
    @extend_schema(operation_id="policy_versions_list", responses=VersionSerializer(many=True), tags=["policy"],
                   parameters=[OpenApiParameter("kind", str), OpenApiParameter("key", str)])
    def get(self, request):
        _gate(request)
        versions = selectors.version_list(kind=request.query_params.get("kind", ""),
                                          key=request.query_params.get("key", ""), limit=500)
        return Response(VersionSerializer(versions, many=True).data)


class PolicyRollback(PimAPIView):
    @extend_schema(operation_id="policy_rollback", request=RollbackSerializer,
                   responses={200: OutcomeSerializer, 202: OutcomeSerializer}, tags=["policy"])
    def post(self, request):
        _write_gate(request)
        data = _valid(RollbackSerializer(data=request.data))
        outcome = _run_write(request, lambda: services.version_rollback(
            actor=_actor(request), kind=data["kind"], key=data["key"], number=data["number"], reason=data["reason"]))
        return Response(_outcome(outcome), status=status.HTTP_202_ACCEPTED if outcome.proposal else status.HTTP_200_OK)


class PolicyDualControl(PimAPIView):
    @extend_schema(operation_id="policy_dual_control_set", request=DualControlSerializer,
                   responses={200: OutcomeSerializer, 202: OutcomeSerializer}, tags=["policy"])
    def post(self, request):
        _write_gate(request)
        data = _valid(DualControlSerializer(data=request.data))
        scope = Scope.objects.filter(path=data["scope"]).first()
        if scope is None:
            raise invalid(f"No scope {data['scope']}.", field="scope")
        if data["enabled"]:
            changed = _run_write(request, lambda: services.dual_control_set(actor=_actor(request), scope=scope,
                                                                            enabled=True))
            outcome = services.Outcome(message="Dual control is on." if changed else "Dual control was already on.")
        else:
            outcome = _run_write(request, lambda: services.dual_control_off(actor=_actor(request), scope=scope,
                                                                            reason=data.get("reason", "")))
        return Response(_outcome(outcome), status=status.HTTP_202_ACCEPTED if outcome.proposal else status.HTTP_200_OK)


class PolicyProposals(PimAPIView):
    @extend_schema(operation_id="policy_proposals_list", responses=ProposalSerializer(many=True), tags=["policy"],
                   parameters=[OpenApiParameter("status", str, enum=Proposal.Status.values)])
    def get(self, request):
        _gate(request)
        proposals = selectors.proposal_list(status=request.query_params.get("status", ""))
        return Response(ProposalSerializer(proposals, many=True).data)

    @extend_schema(operation_id="policy_proposals_create", request=ProposalCreateSerializer,
                   responses={201: ProposalSerializer}, tags=["policy"])
    def post(self, request):
        _write_gate(request)
        data = _valid(ProposalCreateSerializer(data=request.data))
        proposal = _run_write(request, lambda: services.proposal_create(
            actor=_actor(request), changes=[dict(c) for c in data["changes"]], reason=data["reason"],
            title=data.get("title", "")))
        return Response(ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)


class PolicyProposalDetail(PimAPIView):
    @extend_schema(operation_id="policy_proposals_get", responses=ProposalSerializer, tags=["policy"])
    def get(self, request, pk: str):
        _gate(request)
        return Response(ProposalSerializer(_proposal(pk)).data)


class ProposalWhatIfSerializer(WhatIfRequestSerializer):
    proposal = None  # the proposal is the one named in the path


class PolicyProposalWhatIf(PimAPIView):
    @extend_schema(operation_id="policy_proposals_whatif", request=ProposalWhatIfSerializer,
                   responses=ExplanationSerializer, tags=["policy"],
                   description="Explain the decision on a self-activation (of any person) as if the proposal were "
                               "approved: its changes are applied in a transaction that is rolled back.")
    def post(self, request, pk: str):
        _gate(request)
        proposal = _proposal(pk)
        data = _valid(ProposalWhatIfSerializer(data=request.data))
        explanation = services.proposal_whatif(
            proposal=proposal, principal=_whatif_principal(data["principal"]), role=data["role"],
            scope=data["scope"], at=data.get("at"), duration_minutes=data.get("duration_minutes"),
            justification=data["justification"], ticket_system=data["ticket_system"],
            ticket_number=data["ticket_number"], mfa_verified=data["mfa_verified"], client_ip=data.get("client_ip"))
        return Response(ExplanationSerializer(explanation.as_dict()).data)


def _decision_view(name: str, decide):
    class Decision(PimAPIView):
        @extend_schema(operation_id=f"policy_proposals_{name}", request=DecisionSerializer,
                       responses=ProposalSerializer, tags=["policy"])
        def post(self, request, pk: str):
            _write_gate(request)
            proposal = _proposal(pk)
            data = _valid(DecisionSerializer(data=request.data))
            decided = _run_write(request, lambda: decide(actor=_actor(request), proposal=proposal,
                                                         comment=data.get("comment", "")))
            return Response(ProposalSerializer(decided).data)

    Decision.__name__ = Decision.__qualname__ = f"PolicyProposal{name.title()}"
    return Decision


PolicyProposalApprove = _decision_view("approve", services.proposal_approve)
PolicyProposalReject = _decision_view("reject", services.proposal_reject)
PolicyProposalWithdraw = _decision_view("withdraw", services.proposal_withdraw)
