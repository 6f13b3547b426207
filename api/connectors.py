"""The connectors in the REST API: targets (the secret is write-only), Test connection, reconciliation
on demand, mappings (validated against the target on save), effects and drift. Signed webhooks are
targets of kind "webhook" (config: url, event_types; the secret is the signing secret, generated and
returned once when not given); their effects are the event deliveries. Global Administrators and
Privileged Role Administrators only; writes need an administrative token or the session's step-up,
like every privileged administrative change."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments.models import RoleDefinition, Scope
from connectors import reconcile, selectors, services
from connectors.kinds import KINDS
from connectors.models import Drift, Effect, Mapping, Target
from core.errors import forbidden, invalid, not_found

from .serializers import ChangeReasonSerializer, change_reason_field
from .views import PimAPIView, _int_id, _mfa_verified_at, _run_write


class TargetSerializer(serializers.ModelSerializer):
    has_secret = serializers.BooleanField(read_only=True)

    class Meta:
        model = Target
        fields = ["id", "name", "kind", "config", "enabled", "has_secret", "status", "status_message", "status_at",
                  "reconciled_at", "created_at", "updated_at"]


class TargetWriteSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=sorted(KINDS), required=False)
    config = serializers.DictField()
    secret = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False)
    enabled = serializers.BooleanField(default=True)


class TargetCreatedSerializer(TargetSerializer):
    secret = serializers.CharField(required=False, help_text="A webhook target's generated signing secret, "
                                                             "returned once (absent when one was given).")

    class Meta(TargetSerializer.Meta):
        fields = [*TargetSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, returned once.")


class MappingSerializer(serializers.ModelSerializer):
    role = serializers.SlugRelatedField(slug_field="slug", queryset=RoleDefinition.objects.all())
    scope = serializers.SlugRelatedField(slug_field="path", queryset=Scope.objects.all())
    reason = change_reason_field()

    class Meta:
        model = Mapping
        fields = ["id", "role", "scope", "grant", "options", "enabled", "created_at", "reason"]
        read_only_fields = ["id", "enabled", "created_at"]


class MappingUpdateSerializer(serializers.Serializer):
    role = serializers.SlugRelatedField(slug_field="slug", queryset=RoleDefinition.objects.all())
    scope = serializers.SlugRelatedField(slug_field="path", queryset=Scope.objects.all())
    grant = serializers.CharField(max_length=500)
    options = serializers.DictField(required=False, default=dict)
    reason = serializers.CharField(max_length=500, help_text="Why: kept with the change in the version history.")


class EffectSerializer(serializers.ModelSerializer):
    grant = serializers.CharField(source="applied_grant", allow_null=True, help_text="null for an event delivery")
    # not an enum: "action" names the requests' enum
    action = serializers.CharField(help_text="grant, revoke, or event (a webhook target's delivery)")
    request = serializers.UUIDField(source="request_id", allow_null=True)

    class Meta:
        model = Effect
        fields = ["id", "mapping", "principal", "assignment", "request", "action", "transition", "grant", "status",
                  "queued_at", "not_before", "attempts", "last_error", "detail", "applied_at", "event",
                  "delivery_id", "last_status_code"]


class DriftSerializer(serializers.ModelSerializer):
    class Meta:
        model = Drift
        fields = ["id", "mapping", "account", "principal", "kind", "status", "first_seen_at", "last_seen_at",
                  "closed_at", "resolution"]


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


class ReconciledSerializer(serializers.Serializer):
    target = serializers.CharField()
    mappings = serializers.IntegerField()
    holders = serializers.IntegerField()
    opened = serializers.IntegerField()
    cleared = serializers.IntegerField()
    errors = serializers.ListField(child=serializers.CharField())


def _gate(request) -> None:
    if not selectors.user_manages_connectors(user=request.user):
        raise forbidden("Only Global Administrators and Privileged Role Administrators manage connectors.")


def _target(pk: str) -> Target:
    found = Target.objects.filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such connector target.")
    return found


def _valid(serializer):
    if not serializer.is_valid():
        field, messages = next(iter(serializer.errors.items()))
        raise invalid(f"{field}: {' '.join(str(m) for m in messages)}", field=field)
    return serializer.validated_data


class TargetList(PimAPIView):
    @extend_schema(operation_id="connector_targets_list", responses=TargetSerializer(many=True), tags=["connectors"])
    def get(self, request):
        _gate(request)
        return Response(TargetSerializer(selectors.target_list(), many=True).data)

    @extend_schema(operation_id="connector_targets_create", request=TargetWriteSerializer,
                   responses={201: TargetCreatedSerializer}, tags=["connectors"])
    def post(self, request):
        _gate(request)
        data = _valid(TargetWriteSerializer(data=request.data))
        if "kind" not in data:
            raise invalid("kind: choose a connector type.", field="kind")
        if data["kind"] == "webhook":
            target, generated = _run_write(request, lambda: services.webhook_target_create(
                actor=request.user, name=data["name"], config=data["config"], secret=data.get("secret", ""),
                enabled=data["enabled"], mfa_verified_at=_mfa_verified_at(request)),
                target_of=lambda result: result[0])
        else:
            generated = ""
            target = _run_write(request, lambda: services.target_create(
                actor=request.user, name=data["name"], kind=data["kind"], config=data["config"],
                secret=data.get("secret", ""), enabled=data["enabled"], mfa_verified_at=_mfa_verified_at(request)))
        response = Response({**TargetSerializer(target).data, **({"secret": generated} if generated else {})},
                            status=status.HTTP_201_CREATED)
        if generated:
            response["Cache-Control"] = "no-store"
        return response


class TargetDetail(PimAPIView):
    @extend_schema(operation_id="connector_targets_get", responses=TargetSerializer, tags=["connectors"])
    def get(self, request, pk: str):
        _gate(request)
        return Response(TargetSerializer(_target(pk)).data)

    @extend_schema(operation_id="connector_targets_update", request=TargetWriteSerializer,
                   responses=TargetSerializer, tags=["connectors"])
    def put(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        data = _valid(TargetWriteSerializer(data=request.data))
        updated = _run_write(request, lambda: services.target_update(
            actor=request.user, target=target, name=data["name"], config=data["config"], enabled=data["enabled"],
            secret=data.get("secret"), mfa_verified_at=_mfa_verified_at(request)))
        return Response(TargetSerializer(updated).data)


class TargetTest(PimAPIView):
    @extend_schema(operation_id="connector_targets_test", request=None, responses=TestResultSerializer,
                   tags=["connectors"])
    def post(self, request, pk: str):
        _gate(request)
        result = services.target_test(actor=request.user, target=_target(pk))
        return Response({"ok": result.ok, "message": result.message})


class TargetReconcile(PimAPIView):
    @extend_schema(operation_id="connector_targets_reconcile", request=None, responses=ReconciledSerializer,
                   tags=["connectors"])
    def post(self, request, pk: str):
        _gate(request)
        result = reconcile.target_reconcile(target=_target(pk), actor=request.user)
        return Response(ReconciledSerializer(result).data)


class MappingList(PimAPIView):
    @extend_schema(operation_id="connector_mappings_list", responses=MappingSerializer(many=True),
                   tags=["connectors"])
    def get(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        return Response(MappingSerializer(selectors.target_mappings(target=target), many=True).data)

    @extend_schema(operation_id="connector_mappings_create", request=MappingSerializer,
                   responses={201: MappingSerializer}, tags=["connectors"])
    def post(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        data = _valid(MappingSerializer(data=request.data))
        mapping = _run_write(request, lambda: services.mapping_create(
            actor=request.user, target=target, role=data["role"], scope=data["scope"], grant=data["grant"],
            options=data.get("options") or {}, mfa_verified_at=_mfa_verified_at(request), reason=data["reason"]))
        return Response(MappingSerializer(mapping).data, status=status.HTTP_201_CREATED)


class EffectList(PimAPIView):
    @extend_schema(operation_id="connector_effects_list", responses=EffectSerializer(many=True), tags=["connectors"])
    def get(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        return Response(EffectSerializer(selectors.target_effects_recent(target=target), many=True).data)


class DriftList(PimAPIView):
    @extend_schema(operation_id="connector_drift_list", responses=DriftSerializer(many=True), tags=["connectors"])
    def get(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        return Response(DriftSerializer(selectors.target_drift_open(target=target), many=True).data)


# --- What the target page also does: delete, unmap, retry, fix drift -----------------------------------


def _mapping(target: Target, pk) -> Mapping:
    found = (Mapping.objects.select_related("role", "scope", "target")
             .filter(pk=_int_id(pk), target=target).first())
    if found is None:
        raise not_found("No such mapping of this target.")
    return found


class MappingDetail(PimAPIView):
    @extend_schema(operation_id="connector_mappings_get", responses=MappingSerializer, tags=["connectors"])
    def get(self, request, pk: str, mapping_id: str):
        _gate(request)
        return Response(MappingSerializer(_mapping(_target(pk), mapping_id)).data)

    def _update(self, request, pk: str, mapping_id: str, *, partial: bool):
        _gate(request)
        mapping = _mapping(_target(pk), mapping_id)
        data = _valid(MappingUpdateSerializer(data=request.data, partial=partial))
        updated = _run_write(request, lambda: services.mapping_update(
            actor=request.user, mapping=mapping, role=data.get("role", mapping.role),
            scope=data.get("scope", mapping.scope), grant=data.get("grant", mapping.grant),
            options=data["options"] if "options" in data else mapping.options, reason=data.get("reason", ""),
            mfa_verified_at=_mfa_verified_at(request)))
        return Response(MappingSerializer(updated).data)

    @extend_schema(operation_id="connector_mappings_update", request=MappingUpdateSerializer,
                   responses=MappingSerializer, tags=["connectors"],
                   description="Change what a mapping maps, checked against the target like a new one (a "
                               "privileged change, versioned with its reason): its holders lose the old grant and "
                               "get the new one.")
    def put(self, request, pk: str, mapping_id: str):
        return self._update(request, pk, mapping_id, partial=False)

    @extend_schema(operation_id="connector_mappings_partial_update", request=MappingUpdateSerializer(partial=True),
                   responses=MappingSerializer, tags=["connectors"],
                   description="Change some of a mapping's fields (the others stay); `reason` is required.")
    def patch(self, request, pk: str, mapping_id: str):
        return self._update(request, pk, mapping_id, partial=True)


class TargetDelete(PimAPIView):
    @extend_schema(operation_id="connector_targets_delete", request=None, responses={204: None},
                   tags=["connectors"], description="Delete a target and its mappings (a privileged change).")
    def post(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        _run_write(request, lambda: services.target_delete(actor=request.user, target=target,
                                                            mfa_verified_at=_mfa_verified_at(request)),
                   target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TargetRotateSecret(PimAPIView):
    @extend_schema(operation_id="connector_targets_rotate_secret", request=None, responses=SecretSerializer,
                   tags=["connectors"],
                   description="A webhook target's new signing secret, used from the next delivery attempt on; "
                               "returned once (a privileged change).")
    def post(self, request, pk: str):
        _gate(request)
        target = _target(pk)
        secret = _run_write(request, lambda: services.webhook_target_rotate_secret(
            actor=request.user, target=target, mfa_verified_at=_mfa_verified_at(request)),
            target_of=lambda _result: target)
        response = Response({"secret": secret})
        response["Cache-Control"] = "no-store"
        return response


class MappingDelete(PimAPIView):
    @extend_schema(operation_id="connector_mappings_delete", request=ChangeReasonSerializer, responses={204: None},
                   tags=["connectors"], description="Remove a mapping (its grants are revoked in the target).")
    def post(self, request, pk: str, mapping_id: str):
        _gate(request)
        mapping = _mapping(_target(pk), mapping_id)
        reason = _valid(ChangeReasonSerializer(data=request.data))["reason"]
        _run_write(request, lambda: services.mapping_delete(actor=request.user, mapping=mapping,
                                                             mfa_verified_at=_mfa_verified_at(request),
                                                             reason=reason),
                   target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class EffectRetry(PimAPIView):
    @extend_schema(operation_id="connector_effects_retry", request=None, responses=EffectSerializer,
                   tags=["connectors"], description="Apply a failed effect again.")
    def post(self, request, pk: str, effect_id: str):
        _gate(request)
        target = _target(pk)
        effect = Effect.objects.select_related("mapping").filter(pk=_int_id(effect_id), target=target).first()
        if effect is None:
            raise not_found("No such effect of this target.")
        retried = _run_write(request, lambda: services.effect_retry(actor=request.user, effect=effect))
        return Response(EffectSerializer(Effect.objects.select_related("mapping").get(pk=retried.pk)).data)


class DriftFixSerializer(serializers.Serializer):
    fix = serializers.ChoiceField(choices=["revoke", "adopt", "regrant"],
                                  help_text="revoke: take the grant away in the target; adopt: record it as an "
                                            "assignment in PIM (justification); regrant: grant again what is missing.")
    justification = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DriftFix(PimAPIView):
    @extend_schema(operation_id="connector_drift_fix", request=DriftFixSerializer, responses=DriftSerializer,
                   tags=["connectors"])
    def post(self, request, pk: str, drift_id: str):
        _gate(request)
        target = _target(pk)
        drift = Drift.objects.select_related("mapping", "target").filter(pk=_int_id(drift_id), target=target).first()
        if drift is None:
            raise not_found("No such drift of this target.")
        data = _valid(DriftFixSerializer(data=request.data))
        verified_at = _mfa_verified_at(request)
        if data["fix"] == "revoke":
            call = lambda: services.drift_fix_revoke(actor=request.user, drift=drift,  # noqa: E731
                                                     mfa_verified_at=verified_at)
        elif data["fix"] == "adopt":
            call = lambda: services.drift_fix_adopt(actor=request.user, drift=drift,  # noqa: E731
                                                    justification=data["justification"], mfa_verified_at=verified_at)
        else:
            call = lambda: services.drift_fix_regrant(actor=request.user, drift=drift)  # noqa: E731
        _run_write(request, call, target_of=lambda _result: drift)
        return Response(DriftSerializer(Drift.objects.get(pk=drift.pk)).data)
