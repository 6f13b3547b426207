"""Credentials in the REST API: personal API tokens and service principals' credentials (the *API tokens*
page), SCIM provisioning clients and their tokens (the *SCIM clients* pages). The same services as the pages
(`api.services`, `directory.scim.clients`) and the same rules: creating any credential needs a fresh MFA
verification, which through the API only an administrative token carries (a general token cannot mint
tokens); a secret is returned once, with `Cache-Control: no-store`, and stored hashed; revoking needs the
owner or a directory administrator and no step-up. People only: a service principal manages no credential."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from assignments.models import Principal
from core.errors import forbidden, invalid, not_found
from directory.models import ScimClient, ScimToken
from directory.scim import clients as scim_clients

from . import selectors
from . import services as api_services
from .authentication import is_service_principal_actor
from .models import ApiToken
from .views import PimAPIView, _int_id, _mfa_verified_at, _run_write

TOKEN_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="API token id")
CLIENT_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="SCIM client id")
SCIM_TOKEN_ID = OpenApiParameter("token_id", int, OpenApiParameter.PATH, description="SCIM token id")


# What a token may be created for here ("cli" tokens come only from the device-code sign-in).
CREATABLE_PURPOSES = [(p.value, p.label) for p in (ApiToken.Purpose.GENERAL, ApiToken.Purpose.ADMINISTRATION)]


class ApiTokenSerializer(serializers.ModelSerializer):
    display_id = serializers.CharField(read_only=True)
    principal = serializers.IntegerField(source="principal_id")
    principal_name = serializers.CharField(source="principal.display_name")

    class Meta:
        model = ApiToken
        fields = ["id", "display_id", "name", "kind", "purpose", "principal", "principal_name", "created_at",
                  "expires_at", "revoked_at", "last_used_at", "mfa_verified_at"]


class ApiTokenCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    service_principal = serializers.IntegerField(required=False, min_value=1, max_value=2**62,
                                                 help_text="A service principal's id: a credential for it "
                                                           "(directory administrators). Omitted: your own token.")
    purpose = serializers.ChoiceField(choices=CREATABLE_PURPOSES, default=ApiToken.Purpose.GENERAL)
    days = serializers.IntegerField(required=False, min_value=1, max_value=3650, default=30,
                                    help_text="Lifetime (an administrative token's is the setting's, in minutes).")


class CreatedApiTokenSerializer(ApiTokenSerializer):
    secret = serializers.CharField(help_text="Shown once: copy it now.")

    class Meta(ApiTokenSerializer.Meta):
        fields = [*ApiTokenSerializer.Meta.fields, "secret"]


class ScimClientSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScimClient
        fields = ["id", "name", "description", "created_at"]


class ScimClientCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=300, default="")


class ScimTokenSerializer(serializers.ModelSerializer):
    display_id = serializers.CharField(read_only=True)

    class Meta:
        model = ScimToken
        fields = ["id", "client", "display_id", "created_at", "expires_at", "revoked_at", "last_used_at"]


class ScimTokenCreateSerializer(serializers.Serializer):
    expires_in_days = serializers.IntegerField(min_value=1, max_value=3650, default=365)


class CreatedScimTokenSerializer(ScimTokenSerializer):
    secret = serializers.CharField(help_text="Shown once: give it to the provisioning client now.")

    class Meta(ScimTokenSerializer.Meta):
        fields = [*ScimTokenSerializer.Meta.fields, "secret"]


def _people_only(request, what: str) -> None:
    if is_service_principal_actor(request.user):
        raise forbidden(f"A service principal cannot manage {what}: that is for people.")


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class ApiTokenList(PimAPIView):
    @extend_schema(operation_id="api_tokens_list", responses=ApiTokenSerializer(many=True), tags=["credentials"],
                   description="Your personal tokens, then (for directory administrators) every service principal "
                               "credential. Never a secret.")
    def get(self, request):
        _people_only(request, "API tokens")
        mine = list(selectors.tokens_of_user(user=request.user).select_related("principal"))
        theirs = list(selectors.service_principal_tokens_visible_to(user=request.user))
        return Response(ApiTokenSerializer(mine + theirs, many=True).data)

    @extend_schema(operation_id="api_tokens_create", request=ApiTokenCreateSerializer,
                   responses={201: CreatedApiTokenSerializer}, tags=["credentials"],
                   description="Needs a fresh MFA verification: an administrative token (or the portal's step-up).")
    def post(self, request):
        _people_only(request, "API tokens")
        body = ApiTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        verified_at = _mfa_verified_at(request)
        expires_at = timezone.now() + timedelta(days=data["days"])
        if data.get("service_principal"):
            sp = Principal.objects.filter(pk=data["service_principal"], kind=Principal.Kind.SERVICE_PRINCIPAL).first()
            if sp is None:
                raise invalid("No such service principal.", field="service_principal")
            if data["purpose"] != ApiToken.Purpose.GENERAL:
                raise invalid("A service principal's credential has no administrative purpose.", field="purpose")
            create = lambda: api_services.token_create_for_service_principal(  # noqa: E731
                actor=request.user, service_principal=sp, name=data["name"], expires_at=expires_at,
                mfa_verified_at=verified_at)
        elif data["purpose"] == ApiToken.Purpose.ADMINISTRATION:
            create = lambda: api_services.token_create_personal(  # noqa: E731
                actor=request.user, name=data["name"], purpose=ApiToken.Purpose.ADMINISTRATION,
                mfa_verified_at=verified_at)
        else:
            create = lambda: api_services.token_create_personal(  # noqa: E731
                actor=request.user, name=data["name"], expires_at=expires_at, mfa_verified_at=verified_at)
        token, secret = _run_write(request, create, target_of=lambda result: result[0])
        payload = {**ApiTokenSerializer(token).data, "secret": secret}
        return _no_store(Response(payload, status=status.HTTP_201_CREATED))


class ApiTokenRevoke(PimAPIView):
    @extend_schema(operation_id="api_tokens_revoke", parameters=[TOKEN_ID], request=None,
                   responses=ApiTokenSerializer, tags=["credentials"],
                   description="Your own token, or (directory administrators) any token. Twice is a no-op.")
    def post(self, request, pk: str):
        _people_only(request, "API tokens")
        token = ApiToken.objects.select_related("principal").filter(pk=_int_id(pk)).first()
        if token is None:
            raise not_found("No such token.")
        revoked = _run_write(request, lambda: api_services.token_revoke(actor=request.user, token=token))
        return Response(ApiTokenSerializer(revoked).data)


def _scim_gate(request) -> None:
    _people_only(request, "SCIM clients")
    if not scim_clients.user_manages_scim_clients(user=request.user):
        raise forbidden("Only Global Administrators and Privileged Role Administrators manage SCIM clients.")


def _client(pk) -> ScimClient:
    found = ScimClient.objects.filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such SCIM client.")
    return found


class ScimClientList(PimAPIView):
    @extend_schema(operation_id="scim_clients_list", responses=ScimClientSerializer(many=True),
                   tags=["credentials"])
    def get(self, request):
        _scim_gate(request)
        return Response(ScimClientSerializer(scim_clients.scim_clients_visible_to(user=request.user), many=True).data)

    @extend_schema(operation_id="scim_clients_create", request=ScimClientCreateSerializer,
                   responses={201: ScimClientSerializer}, tags=["credentials"],
                   description="A provisioning client (no token yet). A privileged change: administrative token.")
    def post(self, request):
        _scim_gate(request)
        body = ScimClientCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        client = _run_write(request, lambda: scim_clients.scim_client_create(
            actor=request.user, name=body.validated_data["name"], description=body.validated_data["description"],
            mfa_verified_at=_mfa_verified_at(request)))
        return Response(ScimClientSerializer(client).data, status=status.HTTP_201_CREATED)


class ScimTokenList(PimAPIView):
    @extend_schema(operation_id="scim_tokens_list", parameters=[CLIENT_ID], responses=ScimTokenSerializer(many=True),
                   tags=["credentials"])
    def get(self, request, pk: str):
        _scim_gate(request)
        client = _client(pk)
        return Response(ScimTokenSerializer(ScimToken.objects.filter(client=client).order_by("-created_at"),
                                            many=True).data)

    @extend_schema(operation_id="scim_tokens_create", parameters=[CLIENT_ID], request=ScimTokenCreateSerializer,
                   responses={201: CreatedScimTokenSerializer}, tags=["credentials"],
                   description="Issue a bearer token for the client (shown once). A privileged change: "
                               "administrative token.")
    def post(self, request, pk: str):
        _scim_gate(request)
        client = _client(pk)
        body = ScimTokenCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        days = body.validated_data["expires_in_days"]  # the service holds it to the maximum lifetime
        token, secret = _run_write(request, lambda: scim_clients.scim_token_create(
            actor=request.user, client=client, expires_at=timezone.now() + timedelta(days=days),
            mfa_verified_at=_mfa_verified_at(request)), target_of=lambda result: result[0])
        return _no_store(Response({**ScimTokenSerializer(token).data, "secret": secret},
                                  status=status.HTTP_201_CREATED))


class ScimTokenRevoke(PimAPIView):
    @extend_schema(operation_id="scim_tokens_revoke", parameters=[CLIENT_ID, SCIM_TOKEN_ID], request=None,
                   responses=ScimTokenSerializer, tags=["credentials"])
    def post(self, request, pk: str, token_id: str):
        _scim_gate(request)
        token = ScimToken.objects.select_related("client").filter(pk=_int_id(token_id), client_id=_int_id(pk)).first()
        if token is None:
            raise not_found("No such token of this client.")
        revoked = _run_write(request, lambda: scim_clients.scim_token_revoke(actor=request.user, token=token))
        return Response(ScimTokenSerializer(revoked).data)
