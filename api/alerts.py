"""Security alerts and discovery in the REST API: the alert catalogue with its settings (read; change by
directory administrators), run one or all now, incidents (list, read, resolve, dismiss, fix in place) and
discovery (privileged assignments; preview and convert permanent active assignments to eligible). The same
services and selectors as the pages (`alerts.services`, `alerts.selectors`), the same rules, step-up and
audit events, plus the token's "api.write". People only, as on the pages."""

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.response import Response

from alerts import definitions, selectors, services
from alerts.models import Incident, Severity
from assignments.capabilities import user_capabilities
from core.errors import forbidden, invalid, not_found

from .authentication import is_service_principal_actor
from .serializers import AssignmentSerializer, change_reason_field
from .views import PimAPIView, PimListView, _int_id, _mfa_verified_at, _run_write

ALERT_KEY = OpenApiParameter("key", str, OpenApiParameter.PATH, description="Alert key (e.g. too-many-global-admins)")
INCIDENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Incident id")


class ThresholdSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    default = serializers.IntegerField()
    minimum = serializers.IntegerField()
    maximum = serializers.IntegerField()
    unit = serializers.CharField()


class AlertSerializer(serializers.Serializer):
    key = serializers.CharField(source="definition.key")
    name = serializers.CharField(source="definition.name")
    severity = serializers.CharField(source="definition.severity")
    description = serializers.CharField(source="definition.description")
    how_to_fix = serializers.CharField(source="definition.how_to_fix")
    event_based = serializers.BooleanField(source="definition.event_based")
    fixes = serializers.ListField(child=serializers.CharField(), source="definition.fixes")
    threshold_definitions = ThresholdSerializer(many=True, source="definition.thresholds")
    enabled = serializers.BooleanField()
    thresholds = serializers.DictField(child=serializers.IntegerField())
    open_incidents = serializers.IntegerField(source="open_count")
    last_run_at = serializers.DateTimeField(source="last_run.ran_at", allow_null=True, default=None)


class AlertSettingSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    thresholds = serializers.DictField(child=serializers.IntegerField(min_value=-(2**31), max_value=2**31 - 1),
                                       required=False, help_text="Threshold name → whole number; unnamed ones keep "
                                                                 "their value.")
    reason = change_reason_field()


class EvaluationSerializer(serializers.Serializer):
    key = serializers.CharField()
    findings = serializers.IntegerField()
    opened = serializers.IntegerField()
    cleared = serializers.IntegerField()
    skipped = serializers.BooleanField()


class IncidentSerializer(serializers.ModelSerializer):
    principal = serializers.CharField(source="principal.display_name", allow_null=True, default=None)
    role = serializers.CharField(source="role.slug", allow_null=True, default=None)
    scope = serializers.CharField(source="scope.path", allow_null=True, default=None)
    closed_by = serializers.CharField(source="closed_by.username", allow_null=True, default=None)
    affected = serializers.JSONField()
    items = serializers.JSONField()

    class Meta:
        model = Incident
        fields = ["id", "alert_key", "severity", "status", "is_current", "title", "detail", "principal", "role",
                  "scope", "affected", "items", "first_seen_at", "last_seen_at", "closed_at", "closed_by",
                  "close_reason"]


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=True)


class FixSerializer(serializers.Serializer):
    """The fixes the incident's alert offers (its `fixes`): `remove` or `make_eligible` one affected assignment
    (with a justification); `require_mfa` or `add_approvers` on one of the role settings it lists."""

    fix = serializers.ChoiceField(choices=["remove", "make_eligible", "require_mfa", "add_approvers"])
    assignment_id = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    justification = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")
    setting_id = serializers.IntegerField(required=False, min_value=1, max_value=2**62)
    approvers = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), required=False,
                                      max_length=100, default=list, help_text="Principal ids of users or groups.")


class FixResultSerializer(serializers.Serializer):
    fix = serializers.CharField()
    incident = IncidentSerializer()


class ConvertSerializer(serializers.Serializer):
    assignments = serializers.ListField(child=serializers.IntegerField(min_value=1, max_value=2**62), min_length=1,
                                        max_length=1000)
    justification = serializers.CharField(max_length=2000)


class DiscoveryPlanSerializer(serializers.Serializer):
    assignment = AssignmentSerializer()
    end_at = serializers.DateTimeField(allow_null=True)
    problem = serializers.CharField()
    excluded = serializers.BooleanField()


class ConvertedSerializer(serializers.Serializer):
    assignment_id = serializers.IntegerField()
    principal = serializers.CharField()
    role = serializers.CharField()
    scope = serializers.CharField()
    done = serializers.BooleanField()
    message = serializers.CharField()


def _people_only(request) -> None:
    if is_service_principal_actor(request.user):
        raise forbidden("A service principal cannot read or act on security alerts: that is for people.")


def _viewer(request) -> None:
    _people_only(request)
    if not selectors.user_can_view_alerts(user=request.user):
        raise forbidden("Security alerts are for directory administrators, security administrators and readers.")


def _directory_admin(request) -> None:
    _people_only(request)
    if not user_capabilities(request).get("directory_admin"):
        raise forbidden("Discovery is for Global Administrators and Privileged Role Administrators.")


def _config(key: str):
    config = selectors.alert_config(key=str(key)[:64])
    if config is None:
        raise not_found("No such alert.")
    return config


def _incident(pk) -> Incident:
    found = selectors.incident_get(pk=_int_id(pk))
    if found is None:
        raise not_found("No such incident.")
    return found


class AlertList(PimAPIView):
    @extend_schema(operation_id="alerts_list", responses=AlertSerializer(many=True), tags=["security alerts"])
    def get(self, request):
        _viewer(request)
        return Response(AlertSerializer(selectors.alert_configs(), many=True).data)


class AlertDetail(PimAPIView):
    @extend_schema(operation_id="alerts_retrieve", parameters=[ALERT_KEY], responses=AlertSerializer,
                   tags=["security alerts"])
    def get(self, request, key: str):
        _viewer(request)
        return Response(AlertSerializer(_config(key)).data)

    @extend_schema(operation_id="alerts_update", parameters=[ALERT_KEY], request=AlertSettingSerializer,
                   responses=AlertSerializer, tags=["security alerts"],
                   description="Turn the alert on or off and set its thresholds (Global and Privileged Role "
                               "Administrators; a privileged change: administrative token).")
    def patch(self, request, key: str):
        _viewer(request)
        config = _config(key)
        body = AlertSettingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        thresholds = {**config.thresholds, **data.get("thresholds", {})}
        _run_write(request, lambda: services.alert_setting_update(
            actor=request.user, key=config.definition.key, enabled=data.get("enabled", config.enabled),
            thresholds=thresholds, mfa_verified_at=_mfa_verified_at(request), reason=data["reason"]))
        return Response(AlertSerializer(_config(key)).data)


class AlertRun(PimAPIView):
    @extend_schema(operation_id="alerts_run", parameters=[ALERT_KEY], request=None, responses=EvaluationSerializer,
                   tags=["security alerts"], description="Evaluate the alert now (alert managers).")
    def post(self, request, key: str):
        _viewer(request)
        config = _config(key)
        result = _run_write(request, lambda: services.alert_run_now(actor=request.user, key=config.definition.key),
                            target_of=lambda _result: None)
        return Response(EvaluationSerializer(result).data)


class AlertRunAll(PimAPIView):
    @extend_schema(operation_id="alerts_run_all", request=None, responses=EvaluationSerializer(many=True),
                   tags=["security alerts"], description="Evaluate every alert now (alert managers).")
    def post(self, request):
        _viewer(request)
        if not selectors.user_can_manage_alerts(user=request.user):
            raise forbidden("Only Global Administrators, Privileged Role Administrators and Security Administrators "
                            "run alerts.")
        results = _run_write(request, lambda: services.alerts_evaluate_all(actor=request.user, trigger="manual"),
                             target_of=lambda _result: None)
        return Response(EvaluationSerializer(results, many=True).data)


class IncidentFilter(serializers.Serializer):
    status = serializers.ChoiceField(choices=Incident.Status.choices, required=False)
    severity = serializers.ChoiceField(choices=Severity.choices, required=False)
    alert = serializers.CharField(required=False, max_length=64)


class IncidentList(PimListView):
    serializer_class = IncidentSerializer

    def get_queryset(self):
        query = IncidentFilter(data=self.request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        return selectors.incident_list(status=data.get("status"), severity=data.get("severity"),
                                       alert_key=data.get("alert"))

    @extend_schema(operation_id="incidents_list", parameters=[IncidentFilter], tags=["security alerts"])
    def get(self, request, *args, **kwargs):
        _viewer(request)
        return super().get(request, *args, **kwargs)


class IncidentDetail(PimAPIView):
    @extend_schema(operation_id="incidents_retrieve", parameters=[INCIDENT_ID], responses=IncidentSerializer,
                   tags=["security alerts"])
    def get(self, request, pk: str):
        _viewer(request)
        return Response(IncidentSerializer(_incident(pk)).data)


class IncidentClose(PimAPIView):
    action = ""  # resolve | dismiss

    def post(self, request, pk: str):
        _viewer(request)
        incident = _incident(pk)
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        service = services.incident_resolve if self.action == "resolve" else services.incident_dismiss
        closed = _run_write(request, lambda: service(actor=request.user, incident=incident,
                                                     reason=body.validated_data["reason"]))
        return Response(IncidentSerializer(_incident(closed.pk)).data)


class IncidentResolve(IncidentClose):
    action = "resolve"

    @extend_schema(operation_id="incidents_resolve", parameters=[INCIDENT_ID], request=ReasonSerializer,
                   responses=IncidentSerializer, tags=["security alerts"],
                   description="Fixed: the next evaluation opens a new incident if it is not. A reason is required.")
    def post(self, request, pk: str):
        return super().post(request, pk)


class IncidentDismiss(IncidentClose):
    action = "dismiss"

    @extend_schema(operation_id="incidents_dismiss", parameters=[INCIDENT_ID], request=ReasonSerializer,
                   responses=IncidentSerializer, tags=["security alerts"],
                   description="Accepted: it stays quiet while the items it lists persist. A reason is required.")
    def post(self, request, pk: str):
        return super().post(request, pk)


class IncidentFix(PimAPIView):
    @extend_schema(operation_id="incidents_fix", parameters=[INCIDENT_ID], request=FixSerializer,
                   responses=FixResultSerializer, tags=["security alerts"])
    def post(self, request, pk: str):
        _viewer(request)
        incident = _incident(pk)
        body = FixSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        fix = data["fix"]
        user = request.user
        if fix in ("remove", "make_eligible"):
            if not data.get("assignment_id"):
                raise invalid("Choose the assignment to fix.", field="assignment_id")
            service = (services.incident_fix_remove_assignment if fix == "remove"
                       else services.incident_fix_make_eligible)
            call = lambda: service(actor=user, incident=incident, assignment_id=data["assignment_id"],  # noqa: E731
                                   justification=data["justification"])
        elif fix == "require_mfa":
            call = lambda: services.incident_fix_require_mfa(  # noqa: E731
                actor=user, incident=incident, setting_id=data.get("setting_id"),
                mfa_verified_at=_mfa_verified_at(request))
        else:
            call = lambda: services.incident_fix_add_approvers(  # noqa: E731
                actor=user, incident=incident, approver_ids=data["approvers"], setting_id=data.get("setting_id"),
                mfa_verified_at=_mfa_verified_at(request))
        _run_write(request, call)
        return Response({"fix": fix, "incident": IncidentSerializer(_incident(incident.pk)).data})


class DiscoveryList(PimAPIView):
    @extend_schema(operation_id="discovery_list", responses=AssignmentSerializer(many=True), tags=["discovery"],
                   description="Every privileged assignment the caller may see (directory administrators).")
    def get(self, request):
        _directory_admin(request)
        return Response(AssignmentSerializer(selectors.privileged_assignments_visible_to(user=request.user),
                                             many=True).data)


def _chosen(request, ids: list[int]):
    candidates = {a.pk: a for a in selectors.permanent_active_visible_to(user=request.user)}
    missing = [pk for pk in ids if pk not in candidates]
    if missing:
        raise not_found(f"Assignment #{missing[0]} is not a permanent active assignment you may convert.")
    return [candidates[pk] for pk in dict.fromkeys(ids)]


class DiscoveryPreview(PimAPIView):
    @extend_schema(operation_id="discovery_preview", request=ConvertSerializer,
                   responses=DiscoveryPlanSerializer(many=True),
                   tags=["discovery"], description="What converting each assignment to eligible would do (the new "
                                                   "end, or why it would be refused). Reads only.")
    def post(self, request):
        _directory_admin(request)
        body = ConvertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plans = selectors.make_eligible_preview(actor=request.user,
                                                assignments=_chosen(request, body.validated_data["assignments"]))
        return Response(DiscoveryPlanSerializer(plans, many=True).data)


class DiscoveryConvert(PimAPIView):
    @extend_schema(operation_id="discovery_convert", request=ConvertSerializer,
                   responses=ConvertedSerializer(many=True), tags=["discovery"],
                   description="Convert permanent active assignments to eligible, each in its own transaction "
                               "(a refusal does not undo the others; emergency access accounts are skipped).")
    def post(self, request):
        _directory_admin(request)
        body = ConvertSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        plans = selectors.make_eligible_preview(actor=request.user,
                                                assignments=_chosen(request, body.validated_data["assignments"]))
        results = _run_write(request, lambda: services.assignment_make_eligible_bulk(
            actor=request.user, assignment_ids=[p.assignment.pk for p in plans if not p.excluded],
            justification=body.validated_data["justification"], end_at_for={p.assignment.pk: p.end_at for p in plans}),
            target_of=lambda _result: None)
        return Response(ConvertedSerializer(results, many=True).data)


# --- Emergency access report and dashboard figures (the pages' read-only reports) -----------------------


class EmergencyAccountSerializer(serializers.Serializer):
    username = serializers.CharField(source="user.username")
    enabled = serializers.BooleanField(source="user.is_active")
    last_login = serializers.DateTimeField(source="user.last_login", allow_null=True)
    global_administrator_until = serializers.SerializerMethodField(
        help_text="End of the account's active Global Administrator assignment; null when permanent or none "
                  "(see holds_global_administrator).")
    holds_global_administrator = serializers.SerializerMethodField()
    problems = serializers.ListField(child=serializers.CharField())

    def get_global_administrator_until(self, obj) -> str | None:
        end = obj.ga_assignment.end_at if obj.ga_assignment is not None else None
        return None if end is None else serializers.DateTimeField().to_representation(end)

    def get_holds_global_administrator(self, obj) -> bool:
        return obj.ga_assignment is not None


class CheckSerializer(serializers.Serializer):
    label = serializers.CharField()
    ok = serializers.BooleanField()
    detail = serializers.CharField()


class EmergencyAccessSerializer(serializers.Serializer):
    all_ok = serializers.BooleanField()
    accounts = EmergencyAccountSerializer(many=True)
    checks = CheckSerializer(many=True)
    recent_sign_ins = IncidentSerializer(many=True, help_text="The latest sign-ins of emergency accounts (incidents).")


class EmergencyAccessReport(PimAPIView):
    @extend_schema(operation_id="emergency_access_report", responses=EmergencyAccessSerializer,
                   tags=["security alerts"], description="The emergency access accounts against the recommendations "
                                                         "(as the Emergency access page). Directory viewers.")
    def get(self, request):
        _people_only(request)
        if not user_capabilities(request).get("directory_viewer"):
            raise forbidden("Emergency access is for directory administrators and readers.")
        accounts, checks = selectors.emergency_access_report()
        sign_ins = selectors.incident_list(alert_key=definitions.EMERGENCY_SIGN_IN)[:20]
        return Response(EmergencyAccessSerializer({"all_ok": all(c.ok for c in checks), "accounts": accounts,
                                                   "checks": checks, "recent_sign_ins": sign_ins}).data)


class CountSerializer(serializers.Serializer):
    label = serializers.CharField()
    count = serializers.IntegerField()


class SeverityCountSerializer(serializers.Serializer):
    severity = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class DashboardSerializer(serializers.Serializer):
    totals = serializers.DictField(child=serializers.IntegerField(),
                                   help_text="Current eligible, active and permanent assignments you may see.")
    by_role_kind = serializers.ListField(child=serializers.DictField())
    by_type = serializers.SerializerMethodField()
    pending_approvals = serializers.IntegerField()
    incidents_by_severity = serializers.SerializerMethodField()
    reviews_in_progress = serializers.IntegerField(allow_null=True)
    activations_per_day = serializers.SerializerMethodField()
    top_roles = serializers.SerializerMethodField()

    def _pairs(self, pairs) -> list[dict]:
        return CountSerializer([{"label": label, "count": count} for label, count in pairs], many=True).data

    @extend_schema_field(CountSerializer(many=True))
    def get_by_type(self, obj) -> list[dict]:
        return self._pairs(obj.by_type)

    @extend_schema_field(CountSerializer(many=True))
    def get_activations_per_day(self, obj) -> list[dict]:
        return self._pairs(obj.activations_per_day)

    @extend_schema_field(CountSerializer(many=True))
    def get_top_roles(self, obj) -> list[dict]:
        return self._pairs(obj.top_roles)

    @extend_schema_field(SeverityCountSerializer(many=True))
    def get_incidents_by_severity(self, obj) -> list[dict]:
        return SeverityCountSerializer([{"severity": s, "label": label, "count": n}
                                        for s, label, n in obj.incidents_by_severity], many=True).data


class DashboardFigures(PimAPIView):
    @extend_schema(operation_id="dashboard_retrieve", responses=DashboardSerializer, tags=["security alerts"],
                   description="The administrators' dashboard figures over the assignments you may see (as the "
                               "Dashboard page).")
    def get(self, request):
        _people_only(request)
        if not user_capabilities(request).get("any_admin"):
            raise forbidden("The dashboard is for administrators.")
        return Response(DashboardSerializer(selectors.dashboard_for(user=request.user)).data)
