"""Integrations in the REST API: signed webhooks (endpoints, their signing secret, recent deliveries and
retries) and the SCIM applications of groups (their URL and token, a check, recent operations and retries).
The same services and selectors as the *Integrations* pages (`provisioning.services`, `.selectors`): webhooks
for Global and Privileged Role Administrators, a group's applications for its owners and role
administrators; registering, changing and deleting are privileged (administrative token); secrets and
tokens are write-only (a new signing secret is returned once); audited as the pages, plus "api.write". People
only, as on the pages."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments.models import Principal, RoleDefinition, Scope
from assignments.selectors import user_can_manage
from core.domain_events import EVENTS
from core.errors import forbidden, invalid, not_found
from provisioning import scim, selectors, services
from provisioning.models import ScimApplication, ScimOperation, WebhookDelivery, WebhookEndpoint

from .authentication import is_service_principal_actor
from .views import PimAPIView, _int_id, _mfa_verified_at, _run_write, _uuid_id

WEBHOOK_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Webhook endpoint id")
APP_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="SCIM application id")


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "event_types", "enabled", "secret_rotated_at", "created_at",
                  "updated_at"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookDelivery
        fields = ["id", "endpoint", "event", "status", "attempts", "last_status_code", "last_error",
                  "last_attempt_at", "delivered_at", "created_at", "correlation_id"]


class WebhookDetailSerializer(WebhookSerializer):
    deliveries = serializers.SerializerMethodField()

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "deliveries"]

    def get_deliveries(self, obj) -> list[dict]:
        return DeliverySerializer(selectors.webhook_deliveries_recent(endpoint=obj), many=True).data


class WebhookWriteSerializer(serializers.Serializer):
    url = serializers.CharField(max_length=500, help_text="https://… (loopback and private addresses are refused "
                                                          "unless allowed by the deployment).")
    description = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    event_types = serializers.ListField(child=serializers.ChoiceField(choices=sorted(EVENTS)), max_length=100)
    enabled = serializers.BooleanField(default=True)


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(help_text="The signing secret, shown once.")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class SecretSerializer(serializers.Serializer):
    secret = serializers.CharField(help_text="The new signing secret, shown once.")


class ApplicationSerializer(serializers.ModelSerializer):
    group_name = serializers.CharField(source="group.display_name")
    has_token = serializers.BooleanField(read_only=True)

    class Meta:
        model = ScimApplication
        fields = ["id", "group", "group_name", "name", "base_url", "enabled", "has_token", "created_at",
                  "updated_at"]


class OperationSerializer(serializers.ModelSerializer):
    principal_name = serializers.CharField(source="principal.display_name")

    class Meta:
        model = ScimOperation
        fields = ["id", "application", "assignment", "principal", "principal_name", "request", "action", "status",
                  "not_before", "attempts", "last_error", "detail", "last_attempt_at", "done_at", "created_at"]


class ApplicationDetailSerializer(ApplicationSerializer):
    operations = serializers.SerializerMethodField()

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "operations"]

    def get_operations(self, obj) -> list[dict]:
        return OperationSerializer(selectors.scim_operations_recent(application=obj), many=True).data


class ApplicationWriteSerializer(serializers.Serializer):
    group = serializers.IntegerField(min_value=1, max_value=2**62, required=False,
                                     help_text="The group's principal id (on creation; fixed after).")
    name = serializers.CharField(max_length=200)
    base_url = serializers.CharField(max_length=500)
    token = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=4000,
                                  trim_whitespace=False, help_text="Bearer token of the application (stored "
                                                                   "encrypted, never returned); on a change: "
                                                                   "omitted keeps it, \"\" removes it.")
    enabled = serializers.BooleanField(default=True)


class CheckSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    message = serializers.CharField()


def _people_only(request) -> None:
    if is_service_principal_actor(request.user):
        raise forbidden("A service principal cannot manage integrations: that is for people.")


def _webhook_gate(request) -> None:
    _people_only(request)
    if not selectors.user_manages_webhooks(user=request.user):
        raise forbidden("Only Global Administrators and Privileged Role Administrators manage webhooks.")


def _endpoint(pk) -> WebhookEndpoint:
    found = WebhookEndpoint.objects.filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such webhook endpoint.")
    return found


def _application(request, pk) -> ScimApplication:
    found = ScimApplication.objects.select_related("group").filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such SCIM application.")
    scope = Scope.objects.filter(group_id=found.group_id).first()
    owner = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_OWNER)
    if scope is None or not user_can_manage(user=request.user, role=owner, scope=scope):
        raise forbidden(f"Only the owners of {found.group} and role administrators manage its applications.")
    return found


class WebhookList(PimAPIView):
    @extend_schema(operation_id="webhooks_list", responses=WebhookSerializer(many=True), tags=["integrations"])
    def get(self, request):
        _webhook_gate(request)
        return Response(WebhookSerializer(selectors.webhook_endpoint_list(), many=True).data)

    @extend_schema(operation_id="webhooks_create", request=WebhookWriteSerializer,
                   responses={201: WebhookCreatedSerializer}, tags=["integrations"])
    def post(self, request):
        _webhook_gate(request)
        body = WebhookWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint, secret = _run_write(request, lambda: services.webhook_endpoint_create(
            actor=request.user, mfa_verified_at=_mfa_verified_at(request), **body.validated_data),
            target_of=lambda result: result[0])
        response = Response({**WebhookSerializer(endpoint).data, "secret": secret}, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class WebhookDetail(PimAPIView):
    @extend_schema(operation_id="webhooks_retrieve", parameters=[WEBHOOK_ID], responses=WebhookDetailSerializer,
                   tags=["integrations"], description="The endpoint and its recent deliveries.")
    def get(self, request, pk: str):
        _webhook_gate(request)
        return Response(WebhookDetailSerializer(_endpoint(pk)).data)

    @extend_schema(operation_id="webhooks_update", parameters=[WEBHOOK_ID], request=WebhookWriteSerializer,
                   responses=WebhookSerializer, tags=["integrations"])
    def put(self, request, pk: str):
        _webhook_gate(request)
        endpoint = _endpoint(pk)
        body = WebhookWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated = _run_write(request, lambda: services.webhook_endpoint_update(
            actor=request.user, endpoint=endpoint, mfa_verified_at=_mfa_verified_at(request), **body.validated_data))
        return Response(WebhookSerializer(updated).data)

    @extend_schema(operation_id="webhooks_destroy", parameters=[WEBHOOK_ID], responses={204: None},
                   tags=["integrations"])
    def delete(self, request, pk: str):
        _webhook_gate(request)
        endpoint = _endpoint(pk)
        _run_write(request, lambda: services.webhook_endpoint_delete(actor=request.user, endpoint=endpoint,
                                                                      mfa_verified_at=_mfa_verified_at(request)),
                   target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotate(PimAPIView):
    @extend_schema(operation_id="webhooks_rotate_secret", parameters=[WEBHOOK_ID], request=None,
                   responses=SecretSerializer, tags=["integrations"],
                   description="A new signing secret, used from the next delivery attempt on; returned once.")
    def post(self, request, pk: str):
        _webhook_gate(request)
        endpoint = _endpoint(pk)
        secret = _run_write(request, lambda: services.webhook_endpoint_rotate_secret(
            actor=request.user, endpoint=endpoint, mfa_verified_at=_mfa_verified_at(request)),
            target_of=lambda _result: endpoint)
        response = Response({"secret": secret})
        response["Cache-Control"] = "no-store"
        return response


class DeliveryRetry(PimAPIView):
    @extend_schema(operation_id="webhooks_delivery_retry", request=None, responses=DeliverySerializer,
                   tags=["integrations"], description="Send a failed delivery again (same id and body, signed anew).")
    def post(self, request, pk: str, delivery_id: str):
        _webhook_gate(request)
        endpoint = _endpoint(pk)
        delivery = WebhookDelivery.objects.filter(pk=_uuid_id(delivery_id), endpoint=endpoint).first()
        if delivery is None:
            raise not_found("No such delivery of this endpoint.")
        retried = _run_write(request, lambda: services.webhook_delivery_retry(actor=request.user, delivery=delivery),
                             target_of=lambda _result: endpoint)
        return Response(DeliverySerializer(retried).data)


class ApplicationList(PimAPIView):
    @extend_schema(operation_id="scim_applications_list", responses=ApplicationSerializer(many=True),
                   tags=["integrations"], description="The applications of the groups you may configure.")
    def get(self, request):
        _people_only(request)
        return Response(ApplicationSerializer(selectors.scim_application_list(user=request.user), many=True).data)

    @extend_schema(operation_id="scim_applications_create", request=ApplicationWriteSerializer,
                   responses={201: ApplicationSerializer}, tags=["integrations"])
    def post(self, request):
        _people_only(request)
        body = ApplicationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        group = Principal.objects.filter(pk=data.pop("group", 0)).first()
        if group is None:
            raise invalid("Choose the group whose memberships this application receives.", field="group")
        application = _run_write(request, lambda: services.scim_application_create(
            actor=request.user, group=group, mfa_verified_at=_mfa_verified_at(request), **data))
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


class ApplicationDetail(PimAPIView):
    @extend_schema(operation_id="scim_applications_retrieve", parameters=[APP_ID],
                   responses=ApplicationDetailSerializer, tags=["integrations"],
                   description="The application and its recent operations.")
    def get(self, request, pk: str):
        _people_only(request)
        return Response(ApplicationDetailSerializer(_application(request, pk)).data)

    @extend_schema(operation_id="scim_applications_update", parameters=[APP_ID], request=ApplicationWriteSerializer,
                   responses=ApplicationSerializer, tags=["integrations"])
    def put(self, request, pk: str):
        _people_only(request)
        application = _application(request, pk)
        body = ApplicationWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        data.pop("group", None)  # fixed at creation
        updated = _run_write(request, lambda: services.scim_application_update(
            actor=request.user, application=application, name=data["name"], base_url=data["base_url"],
            enabled=data["enabled"], token=data.get("token"), mfa_verified_at=_mfa_verified_at(request)))
        return Response(ApplicationSerializer(updated).data)

    @extend_schema(operation_id="scim_applications_destroy", parameters=[APP_ID], responses={204: None},
                   tags=["integrations"])
    def delete(self, request, pk: str):
        _people_only(request)
        application = _application(request, pk)
        _run_write(request, lambda: services.scim_application_delete(
            actor=request.user, application=application, mfa_verified_at=_mfa_verified_at(request)),
            target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ApplicationCheck(PimAPIView):
    @extend_schema(operation_id="scim_applications_check", parameters=[APP_ID], request=None,
                   responses=CheckSerializer, tags=["integrations"],
                   description="Try the URL and token now (GET /Users?count=1) and say what happened. Reads only.")
    def post(self, request, pk: str):
        _people_only(request)
        application = _application(request, pk)
        try:
            return Response({"ok": True, "message": scim.scim_application_check(application)})
        except Exception as error:  # noqa: BLE001 — whatever went wrong is the answer asked for (as the page)
            return Response({"ok": False, "message": f"The application did not answer as expected: {error}"})


class OperationRetry(PimAPIView):
    @extend_schema(operation_id="scim_applications_operation_retry", request=None, responses=OperationSerializer,
                   tags=["integrations"], description="Run a failed operation again.")
    def post(self, request, pk: str, operation_id: str):
        _people_only(request)
        application = _application(request, pk)
        operation = (ScimOperation.objects.select_related("application", "application__group", "principal")
                     .filter(pk=_int_id(operation_id), application=application).first())
        if operation is None:
            raise not_found("No such operation of this application.")
        retried = _run_write(request, lambda: services.scim_operation_retry(actor=request.user, operation=operation),
                             target_of=lambda _result: application)
        return Response(OperationSerializer(retried).data)
