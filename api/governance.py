"""Governance in the REST API: the what-if simulation (also against a proposed policy), separation-of-duties
conflict sets, exceptions and existing conflicts, and right-sizing recommendations with their fixes.
Directory administrators and readers read; writes are the services' (directory administrators, with an
administrative token or the session's step-up), audited."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments.models import Principal, RoleDefinition, Scope
from core.errors import forbidden, invalid, not_found
from governance import rightsizing, selectors, separation, services
from governance.models import ConflictException, ConflictSet
from governance.whatif import Proposal, whatif_explain

from .views import PimAPIView, _mfa_verified_at, _run_write

TAGS = ["governance"]


class ProposalSerializer(serializers.Serializer):
    scope = serializers.SlugRelatedField(slug_field="path", queryset=Scope.objects.all(), required=False,
                                         allow_null=True, help_text="Where the setting would be made.")
    values = serializers.DictField(help_text="Role setting values, as role settings are saved.")
    approver_ids = serializers.ListField(child=serializers.IntegerField(), required=False, allow_null=True)


class WhatIfRequestSerializer(serializers.Serializer):
    principal = serializers.CharField(help_text="A user's principal id or username.")
    role = serializers.SlugRelatedField(slug_field="slug", queryset=RoleDefinition.objects.all())
    scope = serializers.SlugRelatedField(slug_field="path", queryset=Scope.objects.all())
    at = serializers.DateTimeField(required=False, allow_null=True)
    duration_minutes = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=24 * 60)
    justification = serializers.CharField(required=False, allow_blank=True, default="")
    ticket_system = serializers.CharField(required=False, allow_blank=True, default="")
    ticket_number = serializers.CharField(required=False, allow_blank=True, default="")
    mfa_verified = serializers.BooleanField(required=False, default=False)
    client_ip = serializers.IPAddressField(required=False, allow_null=True)
    proposal = ProposalSerializer(required=False, allow_null=True)


class ExplanationSerializer(serializers.Serializer):
    principal = serializers.CharField()
    role = serializers.CharField()
    scope = serializers.CharField()
    at = serializers.DateTimeField()
    verdict = serializers.ChoiceField(choices=["activate", "approval", "refused"])
    verdict_text = serializers.CharField()
    refusals = serializers.ListField(child=serializers.DictField())
    eligibility = serializers.DictField(allow_null=True)
    policy = serializers.DictField()
    requirements = serializers.DictField()
    window = serializers.DictField(allow_null=True)
    separation = serializers.ListField(child=serializers.DictField())
    approvers = serializers.ListField(child=serializers.DictField())
    stages = serializers.ListField(child=serializers.DictField(),
                                   help_text="The approval stages in order, when the policy decides in stages.")


class ConflictSetSerializer(serializers.ModelSerializer):
    roles = serializers.SlugRelatedField(slug_field="slug", many=True, queryset=RoleDefinition.objects.all())

    class Meta:
        model = ConflictSet
        fields = ["id", "name", "description", "mode", "enabled", "roles", "created_at", "updated_at"]
        read_only_fields = ["id", "created_at", "updated_at"]


class ConflictExceptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ConflictException
        fields = ["id", "conflict_set", "principal", "justification", "end_at", "created_at", "revoked_at"]
        read_only_fields = ["id", "created_at", "revoked_at"]


class ExistingConflictSerializer(serializers.Serializer):
    conflict_set = serializers.IntegerField(source="conflict_set.pk")
    principal = serializers.IntegerField(source="principal.pk")
    principal_name = serializers.CharField(source="principal.display_name")
    assignments = serializers.SerializerMethodField()

    def get_assignments(self, found) -> list[int]:
        return [a.pk for a in found.assignments]


class RecommendationSerializer(serializers.Serializer):
    key = serializers.CharField()
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    title = serializers.CharField()
    detail = serializers.CharField()
    principal = serializers.CharField()
    role = serializers.CharField()
    scope = serializers.CharField()
    assignment_id = serializers.IntegerField(allow_null=True)
    setting = serializers.DictField(allow_null=True)
    roles = serializers.ListField(child=serializers.DictField())
    fix_label = serializers.CharField(allow_null=True)


class RecommendationFixSerializer(serializers.Serializer):
    key = serializers.CharField()
    justification = serializers.CharField(required=False, allow_blank=True, default="")


class RightsizingSettingsSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=rightsizing.BOUNDS["days"][1], max_value=rightsizing.BOUNDS["days"][2],
                                    required=False, help_text="Eligibility unused this long, standing access this "
                                                              "old; the activation history read.")
    factor = serializers.IntegerField(min_value=rightsizing.BOUNDS["factor"][1],
                                      max_value=rightsizing.BOUNDS["factor"][2], required=False,
                                      help_text="A maximum duration at least this many times the longest recent use "
                                                "is recommended lower.")
    min_samples = serializers.IntegerField(min_value=rightsizing.BOUNDS["min_samples"][1],
                                           max_value=rightsizing.BOUNDS["min_samples"][2], required=False,
                                           help_text="Activations a duration or a pairing needs.")


def _gate(request) -> None:
    if not selectors.user_can_view_governance(user=request.user):
        raise forbidden("Governance is for directory administrators and readers.")


def _valid(serializer):
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        raise invalid(f"{field}: {' '.join(str(m) for m in messages) if isinstance(messages, list) else messages}",
                      field=field)
    return serializer.validated_data


def _principal(text: str) -> Principal:
    text = str(text).strip()
    found = (Principal.objects.filter(pk=int(text)).first() if text.isdigit()
             else Principal.objects.filter(user__username=text).first())
    if found is None:
        raise invalid(f"There is no principal {text}.", field="principal")
    return found


class WhatIf(PimAPIView):
    @extend_schema(operation_id="governance_whatif", request=WhatIfRequestSerializer, responses=ExplanationSerializer,
                   tags=TAGS, description="Explain the decision on a self-activation; nothing is changed.")
    def post(self, request):
        _gate(request)
        data = _valid(WhatIfRequestSerializer(data=request.data))
        proposed = data.get("proposal")
        proposal = Proposal(values=proposed["values"], scope=proposed.get("scope"),
                            approver_ids=proposed.get("approver_ids")) if proposed else None
        explanation = whatif_explain(
            principal=_principal(data["principal"]), role=data["role"], scope=data["scope"], at=data.get("at"),
            duration_minutes=data.get("duration_minutes"), justification=data["justification"],
            ticket_system=data["ticket_system"], ticket_number=data["ticket_number"],
            mfa_verified=data["mfa_verified"], client_ip=data.get("client_ip"), proposal=proposal)
        return Response(ExplanationSerializer(explanation.as_dict()).data)


class ConflictSetList(PimAPIView):
    @extend_schema(operation_id="conflict_sets_list", responses=ConflictSetSerializer(many=True), tags=TAGS)
    def get(self, request):
        _gate(request)
        return Response(ConflictSetSerializer(selectors.conflict_sets(), many=True).data)

    @extend_schema(operation_id="conflict_sets_create", request=ConflictSetSerializer,
                   responses={201: ConflictSetSerializer}, tags=TAGS)
    def post(self, request):
        _gate(request)
        data = _valid(ConflictSetSerializer(data=request.data))
        made = _run_write(request, lambda: services.conflict_set_save(
            actor=request.user, name=data["name"], description=data.get("description", ""),
            mode=data.get("mode", ConflictSet.Mode.REFUSE),
            enabled=data.get("enabled", True), role_ids=[r.pk for r in data["roles"]],
            mfa_verified_at=_mfa_verified_at(request)))
        return Response(ConflictSetSerializer(made).data, status=status.HTTP_201_CREATED)


def _conflict_set(pk: str) -> ConflictSet:
    found = ConflictSet.objects.filter(pk=int(pk)).first() if str(pk).isdigit() else None
    if found is None:
        raise not_found("No such conflict set.")
    return found


class ConflictSetDetail(PimAPIView):
    @extend_schema(operation_id="conflict_sets_delete", request=None, responses={204: None}, tags=TAGS)
    def delete(self, request, pk: str):
        _gate(request)
        found = _conflict_set(pk)
        _run_write(request, lambda: services.conflict_set_delete(actor=request.user, conflict_set=found,
                                                                 mfa_verified_at=_mfa_verified_at(request)))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ConflictList(PimAPIView):
    @extend_schema(operation_id="conflicts_list", responses=ExistingConflictSerializer(many=True), tags=TAGS)
    def get(self, request):
        _gate(request)
        return Response(ExistingConflictSerializer(separation.conflicts_existing(), many=True).data)


class ConflictExceptionList(PimAPIView):
    @extend_schema(operation_id="conflict_exceptions_list", responses=ConflictExceptionSerializer(many=True),
                   tags=TAGS)
    def get(self, request):
        _gate(request)
        return Response(ConflictExceptionSerializer(selectors.exceptions_live(), many=True).data)

    @extend_schema(operation_id="conflict_exceptions_grant", request=ConflictExceptionSerializer,
                   responses={201: ConflictExceptionSerializer}, tags=TAGS)
    def post(self, request):
        _gate(request)
        data = _valid(ConflictExceptionSerializer(data=request.data))
        made = _run_write(request, lambda: services.conflict_exception_grant(
            actor=request.user, conflict_set=data["conflict_set"], principal=data["principal"],
            justification=data["justification"], end_at=data["end_at"], mfa_verified_at=_mfa_verified_at(request)))
        return Response(ConflictExceptionSerializer(made).data, status=status.HTTP_201_CREATED)


class ConflictExceptionRevoke(PimAPIView):
    @extend_schema(operation_id="conflict_exceptions_revoke", request=None, responses=ConflictExceptionSerializer,
                   tags=TAGS)
    def post(self, request, pk: str):
        _gate(request)
        found = ConflictException.objects.filter(pk=int(pk)).first() if str(pk).isdigit() else None
        if found is None:
            raise not_found("No such exception.")
        revoked = _run_write(request, lambda: services.conflict_exception_revoke(
            actor=request.user, exception=found, mfa_verified_at=_mfa_verified_at(request)))
        return Response(ConflictExceptionSerializer(revoked).data)


class RecommendationList(PimAPIView):
    @extend_schema(operation_id="rightsizing_list", responses=RecommendationSerializer(many=True), tags=TAGS)
    def get(self, request):
        _gate(request)
        return Response(RecommendationSerializer(rightsizing.recommendations_list(), many=True).data)


class RecommendationApply(PimAPIView):
    @extend_schema(operation_id="rightsizing_apply", request=RecommendationFixSerializer, responses={204: None},
                   tags=TAGS)
    def post(self, request):
        _gate(request)
        data = _valid(RecommendationFixSerializer(data=request.data))
        _run_write(request, lambda: rightsizing.rightsizing_apply(
            actor=request.user, key=data["key"], justification=data["justification"],
            mfa_verified_at=_mfa_verified_at(request)))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RightsizingSettings(PimAPIView):
    @extend_schema(operation_id="rightsizing_settings_retrieve", responses=RightsizingSettingsSerializer, tags=TAGS)
    def get(self, request):
        _gate(request)
        return Response(RightsizingSettingsSerializer(vars(rightsizing.rightsizing_thresholds())).data)

    @extend_schema(operation_id="rightsizing_settings_update", request=RightsizingSettingsSerializer,
                   responses=RightsizingSettingsSerializer, tags=TAGS,
                   description="Change any of the thresholds (the others keep theirs). Directory administrators, "
                               "with an administrative token or the session's step-up; audited.")
    def patch(self, request):
        _gate(request)
        data = _valid(RightsizingSettingsSerializer(data=request.data))
        changed = _run_write(request, lambda: services.rightsizing_settings_update(
            actor=request.user, values=dict(data), mfa_verified_at=_mfa_verified_at(request)))
        return Response(RightsizingSettingsSerializer(vars(changed)).data)
