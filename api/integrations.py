"""Integrations in the REST API: signed webhooks (endpoints, their signing secret, recent deliveries and
retries). The same services and selectors as the *Integrations* pages (`provisioning.services`,
`.selectors`), for Global and Privileged Role Administrators; registering, changing and deleting are
privileged (administrative token); the signing secret is write-only (a new one is returned once); audited as
the pages, plus "api.write". People only, as on the pages. (SCIM applications are connector targets: see
the connectors API.)"""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.domain_events import EVENTS
from core.errors import forbidden, not_found
from provisioning import selectors, services
from provisioning.models import WebhookDelivery, WebhookEndpoint

from .authentication import is_service_principal_actor
from .views import PimAPIView, _int_id, _mfa_verified_at, _run_write, _uuid_id

WEBHOOK_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Webhook endpoint id")


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
