"""Endpoints of the request rules: a role setting's justification / ticket / break-glass rules, its
auto-approval rules and their on-call rosters, break-glass activation and the post-hoc reviews. Each:
gate, parse, call one `selfservice` service or selector, respond; refusals map to 400/403/404/409."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments import selectors as assignment_selectors
from assignments.models import RoleSetting
from core.errors import forbidden, invalid, not_found
from selfservice import breakglass, catalogue
from selfservice import selectors as selfservice_selectors
from selfservice import services as selfservice_services
from selfservice.models import AutoApprovalRule, RequestBatch

from . import selfservice_serializers as ss
from .authentication import is_service_principal_actor
from .serializers import RequestSerializer
from .views import (
    PimAPIView,
    _actor,
    _assignment_or_404,
    _client_ip,
    _int_id,
    _person,
    _request_or_404,
    _run_write,
    _session_mfa_verified_at,
    _uuid_id,
)

SETTING_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Role setting id")
RULE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Auto-approval rule id")
REVIEW_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Break-glass review id")


def _managed_setting(request, pk) -> RoleSetting:
    setting = RoleSetting.objects.select_related("role", "scope").filter(pk=_int_id(pk)).first()
    if setting is None:
        raise not_found("No such role setting.")
    if not assignment_selectors.user_can_manage(user=request.user, role=setting.role, scope=setting.scope):
        raise forbidden(f"Only the administrators of {setting.role.name} at {setting.scope.path} see its request "
                        "rules.")
    return setting


class RequestRulesView(PimAPIView):
    @extend_schema(operation_id="request_rules_retrieve", parameters=[SETTING_ID],
                   responses=ss.RequestRulesSerializer, tags=["request rules"],
                   description="The justification, ticket and break-glass rules of a role setting (defaults "
                               "when none are set).")
    def get(self, request, pk: str):
        setting = _managed_setting(request, pk)
        current = selfservice_selectors.request_rules_for(setting=setting)
        if current is None:
            return Response({"setting": setting.pk, **selfservice_services.request_rules_values(None),
                             "updated_at": None})
        return Response(ss.RequestRulesSerializer(current).data)

    @extend_schema(operation_id="request_rules_update", parameters=[SETTING_ID], request=ss.RequestRulesInputSerializer,
                   responses=ss.RequestRulesSerializer, tags=["request rules"],
                   description="Set the rules (omitted fields keep their current value). A privileged "
                               "administrative change: it needs a fresh MFA verification.")
    def put(self, request, pk: str):
        setting = _managed_setting(request, pk)
        body = ss.RequestRulesInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = {**selfservice_services.request_rules_values(
            selfservice_selectors.request_rules_for(setting=setting)), **body.validated_data}
        result = _run_write(request, lambda: selfservice_services.request_rules_update(
            actor=_actor(request), setting=setting, values=values))
        return Response(ss.RequestRulesSerializer(result).data)


class AutoApprovalRuleList(PimAPIView):
    @extend_schema(operation_id="auto_approval_rules_list", parameters=[SETTING_ID],
                   responses=ss.AutoApprovalRuleSerializer(many=True), tags=["request rules"])
    def get(self, request, pk: str):
        setting = _managed_setting(request, pk)
        rules = selfservice_selectors.auto_approval_rules_for(setting=setting).prefetch_related("shifts")
        return Response(ss.AutoApprovalRuleSerializer(rules, many=True).data)

    @extend_schema(operation_id="auto_approval_rules_create", parameters=[SETTING_ID],
                   request=ss.AutoApprovalRuleSerializer, responses={201: ss.AutoApprovalRuleSerializer},
                   tags=["request rules"],
                   description="Add a rule (at least one condition). An activation that needs approval is "
                               "approved at once when every condition of a rule holds.")
    def post(self, request, pk: str):
        setting = _managed_setting(request, pk)
        body = ss.AutoApprovalRuleSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        rule = _run_write(request, lambda: selfservice_services.auto_approval_rule_create(
            actor=_actor(request), setting=setting, name=data["name"], group=data.get("group_id"),
            on_call=data.get("on_call", False), roster_url=data.get("roster_url", ""),
            roster_zone=data.get("roster_zone", "UTC"), time_windows=data.get("time_windows", ""),
            time_windows_zone=data.get("time_windows_zone", "UTC"), ticket_pattern=data.get("ticket_pattern", ""),
            max_duration_minutes=data.get("max_duration_minutes")))
        return Response(ss.AutoApprovalRuleSerializer(rule).data, status=status.HTTP_201_CREATED)


def _rule_or_404(request, pk) -> AutoApprovalRule:
    rule = AutoApprovalRule.objects.select_related("setting").filter(pk=_int_id(pk)).first()
    if rule is None:
        raise not_found("No such auto-approval rule.")
    _managed_setting(request, rule.setting_id)
    return rule


class AutoApprovalRuleDetail(PimAPIView):
    @extend_schema(operation_id="auto_approval_rules_destroy", parameters=[RULE_ID], responses={204: None},
                   tags=["request rules"])
    def delete(self, request, pk: str):
        rule = _rule_or_404(request, pk)
        _run_write(request, lambda: selfservice_services.auto_approval_rule_delete(actor=_actor(request), rule=rule),
                   target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class AutoApprovalRosterImport(PimAPIView):
    @extend_schema(operation_id="auto_approval_rules_roster_import", parameters=[RULE_ID],
                   request={"multipart/form-data": inline_serializer("RosterUpload", {
                       "roster": serializers.FileField(required=False, help_text="An iCalendar (.ics) file.")})},
                   responses=ss.RosterImportResultSerializer, tags=["request rules"],
                   description="Replace the rule's on-call shifts with an uploaded iCalendar file (`roster`), or, "
                               "without one, with the rule's roster URL fetched now.")
    def post(self, request, pk: str):
        rule = _rule_or_404(request, pk)
        upload = request.FILES.get("roster")
        content = upload.read(selfservice_services.MAX_ROSTER_BYTES + 1) if upload else None
        if upload is None and request.data.get("roster"):
            raise invalid("Send the roster as a file (multipart/form-data).", field="roster")
        summary = _run_write(request, lambda: selfservice_services.auto_approval_roster_import(
            actor=_actor(request), rule=rule, content=content), target_of=lambda _result: rule)
        return Response(ss.RosterImportResultSerializer(summary).data)


class BreakGlassActivate(PimAPIView):
    @extend_schema(operation_id="break_glass_create", request=ss.BreakGlassInputSerializer,
                   responses={201: RequestSerializer}, tags=["requests"],
                   description="Emergency self-approval of an activation that needs approval, where the role's "
                               "request rules allow it: a mandatory reason, the role's other rules (MFA, "
                               "justification, ticket), a high-severity incident to the role's administrators "
                               "and a post-hoc review, at once.")
    def post(self, request):
        actor = _person(request, "activate a role")
        body = ss.BreakGlassInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        eligible = _assignment_or_404(data["assignment"])
        created = _run_write(request, lambda: breakglass.request_break_glass(
            actor=actor, eligible_assignment=eligible, reason=data["reason"],
            duration_minutes=data["duration_minutes"], ticket_system=data["ticket_system"],
            ticket_number=data["ticket_number"], mfa_verified_at=_session_mfa_verified_at(request),
            client_ip=_client_ip(request)))
        return Response(RequestSerializer(_request_or_404(created.pk)).data, status=status.HTTP_201_CREATED)


class BreakGlassReviewList(PimAPIView):
    @extend_schema(operation_id="break_glass_reviews_list", responses=ss.BreakGlassReviewSerializer(many=True),
                   tags=["requests"], description="Reviews of the roles the caller administers (open ones first).")
    def get(self, request):
        if is_service_principal_actor(request.user):  # reviews are for people
            return Response([])
        reviews = selfservice_selectors.break_glass_reviews_for(user=request.user)
        return Response(ss.BreakGlassReviewSerializer(reviews, many=True).data)


class BreakGlassReviewComplete(PimAPIView):
    @extend_schema(operation_id="break_glass_reviews_complete", parameters=[REVIEW_ID],
                   request=ss.BreakGlassReviewCompleteSerializer, responses=ss.BreakGlassReviewSerializer,
                   tags=["requests"], description="Justified, or not (which removes the activation if still live).")
    def post(self, request, pk: str):
        actor = _person(request, "complete a review")
        body = ss.BreakGlassReviewCompleteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        review = _run_write(request, lambda: breakglass.break_glass_review_complete(
            actor=actor, review=_int_id(pk), outcome=body.validated_data["outcome"],
            comment=body.validated_data["comment"]))
        return Response(ss.BreakGlassReviewSerializer(review).data)


class EligibilityRequestCreate(PimAPIView):
    @extend_schema(operation_id="eligibility_requests_create", request=ss.EligibilityRequestInputSerializer,
                   responses={201: ss.RequestBatchSerializer}, tags=["requests"],
                   description="The request catalogue: ask for eligibility for several roles at scopes you do not "
                               "hold, in one go (one request per item, all or none; every bad item is named). "
                               "The roles' administrators decide each item on its own.")
    def post(self, request):
        actor = _person(request, "request eligibility")
        body = ss.EligibilityRequestInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        items = [catalogue.Item(role=item["role"], scope=item["scope"]) for item in data["items"]]
        batch = _run_write(request, lambda: catalogue.eligibility_request_many(
            actor=actor, items=items, end_at=data["end_at"], justification=data["justification"]))
        return Response(_batch_body(request, batch), status=status.HTTP_201_CREATED)


def _batch_body(request, batch) -> dict:
    batch.loaded_items = selfservice_selectors.batch_items_for(user=request.user, batch=batch)
    return ss.RequestBatchSerializer(batch).data


class RequestBatchDetail(PimAPIView):
    @extend_schema(operation_id="request_batches_retrieve",
                   parameters=[OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH)],
                   responses=ss.RequestBatchSerializer, tags=["requests"],
                   description="A batch of the request catalogue: its requester, or whoever decides one of its "
                               "items, sees every item together.")
    def get(self, request, pk: str):
        batch = RequestBatch.objects.filter(pk=_uuid_id(pk)).first()
        if batch is None or is_service_principal_actor(request.user):
            raise not_found("No such batch of requests.")
        body = _batch_body(request, batch)
        if batch.requested_by_id != request.user.pk and not any(item["can_decide"] for item in body["items"]):
            raise not_found("No such batch of requests.")
        return Response(body)
