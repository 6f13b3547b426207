"""The REST API (`/api/v1/`): permission gate, parse, call one service or selector, respond.

Every rule lives in the services and selectors the portal's pages use. A person's token acts as that
person (`Actor.person`): a general token never carries an MFA verification; an administrative token
carries the one it was created after for its short lifetime (`token_admin_mfa_verified_at`), so it may
make privileged administrative changes, though not self-service actions that ask for MFA. A service
principal credential acts as `Actor.service_principal`: the services apply every rule to it through its
own assignments (it never satisfies an MFA requirement, so it makes no privileged administrative
change), and the write is audited as "api.write" with the token in the same transaction.
"""

import logging
import time
import uuid

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from approvals import selectors as approval_selectors
from approvals import services as approval_services
from approvals.models import ApprovalDecision, Request
from approvals.services import (
    assignment_deactivate,
    request_cancel,
    request_self_activate,
    request_self_extend,
    request_self_renew,
)
from assignments import rules
from assignments import selectors as assignment_selectors
from assignments import services as assignment_services
from assignments.access import access_find_grant, access_find_permission_grant
from assignments.filters import AssignmentFilterSet, PrincipalFilterSet, ScopeFilterSet
from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope
from assignments.services import assignment_create, role_setting_update
from audit.middleware import client_ip_of
from audit.models import AuditEvent
from auditlog import export as audit_export
from auditlog import selectors as audit_selectors
from core.actors import Actor
from core.errors import DomainError, forbidden, invalid, not_found
from core.ids import parse_id
from core.mfa import mfa_verified_at

from . import filters
from . import serializers as s
from . import services as api_services
from .authentication import is_service_principal_actor, token_admin_mfa_verified_at
from .exceptions import error_body
from .models import ApiToken
from .pagination import CreatedCursorPagination, SeqCursorPagination
from .schema import PimAutoSchema
from .throttling import CheckThrottle

logger = logging.getLogger(__name__)

# --- Shared helpers ---------------------------------------------------------------------------------


def _session_mfa_verified_at(request):
    """The portal session's MFA step-up. A call made with a token has none of its own, except a token of the
    command line's device-code sign-in, which carries the step-up made in the browser to approve it (the
    services then hold it to the same freshness window as a session's)."""
    if isinstance(request.auth, ApiToken):
        return request.auth.mfa_verified_at if request.auth.purpose == ApiToken.Purpose.CLI else None
    return mfa_verified_at(request._request)


def _mfa_verified_at(request):
    """The MFA verification behind an administrator's call: the portal session's step-up; with a token,
    only an administrative token's (`token_admin_mfa_verified_at`); a general token has none."""
    if isinstance(request.auth, ApiToken):
        return token_admin_mfa_verified_at(request.auth, at=timezone.now())
    return _session_mfa_verified_at(request)


def _explained_for_token(error: DomainError, token: ApiToken | None) -> DomainError:
    """A general token refused a privileged administrative change: say how to get one that may."""
    if token is None or error.field != rules.ADMIN_MFA_FIELD:
        return error
    from django.conf import settings

    return DomainError(
        f"{error.message} This token cannot make privileged administrative changes: verify with your "
        f"authenticator in the portal, then create a token for administration under API tokens "
        f"(/api/v1/tokens/); it lives {settings.PIM_API_ADMIN_TOKEN_MINUTES} minutes.",
        code=error.code, field=error.field)


def _client_ip(request) -> str | None:
    return client_ip_of(request._request)


def _actor(request) -> Actor:
    """Who this call acts as: the service principal of its credential, or the person (with the token
    used, and the verification of a portal session's step-up or of an administrative token)."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    if is_service_principal_actor(request.user):
        return Actor.service_principal(request.user.principal, token=token)
    return Actor.person(request.user, mfa_verified_at=_mfa_verified_at(request), token=token)


def _person(request, what: str) -> Actor:
    """The signed-in person for self-service (activate, ask, cancel, approve); service principals cannot do
    what only a person does. An administrative token stands for its verification in administrative
    changes only: here a portal session's step-up counts, and the browser step-up of a command-line
    sign-in (`pim login`); with any other token, activation that asks for MFA is done in the portal."""
    if is_service_principal_actor(request.user):
        raise forbidden(f"A service principal cannot {what}: that is for people.")
    token = request.auth if isinstance(request.auth, ApiToken) else None
    return Actor.person(request.user, mfa_verified_at=_session_mfa_verified_at(request), token=token)


def _run_write(request, fn, *, target_of=None):
    """Run one service call as an API write: in one transaction with the "api.write" audit event of the
    token (when a token was used). On a refusal the transaction rolls back; the service's own "denied"
    event and the "api.write" denied event are written in their own transaction (committed whatever
    became of this one), then the refusal is raised."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    try:
        with transaction.atomic():
            result = fn()
            if token is not None:
                target = target_of(result) if target_of else result
                api_services.api_write_record(
                    token=token, actor=request.user, method=request.method, path=request.path,
                    target=target if hasattr(target, "_meta") else None,
                )
    except DomainError as error:
        if token is not None:
            api_services.api_write_record(token=token, actor=request.user, method=request.method,
                                          path=request.path, outcome=AuditEvent.Outcome.DENIED,
                                          message=error.message)
        raise _explained_for_token(error, token)
    return result


def _int_id(pk) -> int:
    number = parse_id(pk)
    if number is None:
        raise not_found("No such object.")
    return number


def _uuid_id(pk) -> uuid.UUID:
    try:
        return uuid.UUID(str(pk))
    except ValueError:
        raise not_found("No such request.")


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema (YAML by default, `?format=json`); refusals in the API's JSON error body, not
    rendered as if they were a schema."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        self.request.accepted_renderer, self.request.accepted_media_type = JSONRenderer(), "application/json"
        return response


def unknown_endpoint(request, *args, **kwargs):
    from django.http import JsonResponse

    return JsonResponse(error_body("not_found", "No such API endpoint."), status=404)


def _assignment_or_404(pk) -> Assignment:
    found = Assignment.objects.select_related("principal", "role", "scope").filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such assignment.")
    return found


def _request_or_404(pk) -> Request:
    found = approval_selectors.request_get_for_user(user=None, request_id=_uuid_id(pk))
    if found is None:
        raise not_found("No such request.")
    return found


ASSIGNMENT_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Assignment id")
REQUEST_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="Request id")


class PimAPIView(APIView):
    schema = PimAutoSchema()


class PimListView(generics.ListAPIView):
    schema = PimAutoSchema()
    filter_backends = [DjangoFilterBackend]


# --- Probe and check ----------------------------------------------------------------------------------


class PingView(PimAPIView):
    """Health and authentication probe: a constant body for any valid credential."""

    @extend_schema(operation_id="ping", responses=s.PingSerializer, tags=["check"])
    def get(self, request):
        return Response({"ok": True, "principal": request.user.principal.pk})


def _principal_ref(text: str) -> int | str | None:
    """An id stays an int (no query); an object id is resolved through a small cache (ids never change);
    a username with one query. None: no such principal."""
    text = text.strip()
    principal_id = parse_id(text)
    if principal_id is not None:
        return principal_id
    try:
        object_id = uuid.UUID(text)
    except ValueError:
        return Principal.objects.filter(user__username=text).values_list("pk", flat=True).first()
    cached = _OBJECT_ID_CACHE.get(object_id)
    if cached is None:
        cached = Principal.objects.filter(object_id=object_id).values_list("pk", flat=True).first()
        if cached is not None:
            if len(_OBJECT_ID_CACHE) > 10000:
                _OBJECT_ID_CACHE.clear()
            _OBJECT_ID_CACHE[object_id] = cached
    return cached


_OBJECT_ID_CACHE: dict[uuid.UUID, int] = {}


# The caller's permission to ask about others (a directory viewer role, through the access check) is
# re-evaluated at most once a second per credential and process: at thousands of checks a second that
# saves a query per check. The decision about the asked principal is never cached.
CHECK_AUTHORITY_TTL_SECONDS = 1.0
_check_authority: dict[tuple, tuple[float, bool]] = {}


def _may_check_others(request) -> bool:
    key = (type(request.auth).__name__, getattr(request.auth, "pk", None), request.user.principal.pk)
    now = time.monotonic()
    cached = _check_authority.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    allowed = assignment_selectors.user_holds_any(user=request.user,
                                                  role_slugs=assignment_selectors.DIRECTORY_VIEWER_ROLES)
    if len(_check_authority) > 10000:
        _check_authority.clear()
    _check_authority[key] = (now + CHECK_AUTHORITY_TTL_SECONDS, allowed)
    return allowed


CHECK_LIMITS = {"principal": 200, "role": 100, "action": 300, "scope": 512}


def _check_params(query) -> dict:
    """The check's query string, validated by hand: the shape `CheckQuerySerializer` documents, without
    a serializer's cost on the hottest path."""
    data = {name: (query.get(name) or "").strip() for name in CHECK_LIMITS}
    for name, limit in CHECK_LIMITS.items():
        if len(data[name]) > limit:
            raise invalid(f"At most {limit} characters.", field=name)
        if "\x00" in data[name]:
            raise invalid("Null characters are not allowed.", field=name)
    if not data["principal"]:
        raise invalid("Give the principal (id, object id or username).", field="principal")
    if bool(data["role"]) == bool(data["action"]):
        raise invalid("Give either role or action (exactly one).", field="role")
    data["scope"] = data["scope"] or "/"
    if not data["scope"].startswith("/"):
        raise invalid("The scope is a path starting with '/'.", field="scope")
    return data


class CheckView(PimAPIView):
    """May this principal hold this role (or perform this action) at this scope, right now?

    One decision query (the access check) over committed state. The caller may ask about itself; about
    others only when it holds a directory viewer role (Global Reader, Security Reader, Security
    Administrator, Privileged Role Administrator, Global Administrator), re-evaluated at most once a
    second per credential. When the database cannot answer, the answer is 503 with `allowed: false`
    (fail closed).
    """

    throttle_classes = [CheckThrottle]

    @extend_schema(
        operation_id="check",
        parameters=[s.CheckQuerySerializer],
        responses={200: s.CheckResultSerializer, 503: s.CheckResultSerializer},
        tags=["check"],
    )
    def get(self, request):
        data = _check_params(request.query_params)
        scope = data["scope"]
        now = timezone.now()
        principal_id = _principal_ref(data["principal"])
        caller = request.user
        if principal_id != caller.principal.pk and not _may_check_others(request):
            raise forbidden("Checking the access of others needs a directory viewer role "
                            "(Global Reader, Security Reader, …).")
        grant = None
        if principal_id is not None:
            if data.get("action"):
                grant = access_find_permission_grant(principal=principal_id, action=data["action"], scope=scope,
                                                     at=now)
            else:
                role = data["role"].strip()
                role_id = parse_id(role)
                grant = access_find_grant(principal=principal_id, role=role if role_id is None else role_id,
                                          scope=scope, at=now)
        return Response({
            "allowed": grant is not None,
            "assignment": grant.assignment_id if grant else None,
            "via_group": grant.via_group_id if grant else None,
            "ends_at": grant.end_at.isoformat() if grant and grant.end_at else None,
            "evaluated_at": now.isoformat(),
        })

    def handle_exception(self, exc):
        # Refusals (400/401/403/404/429) keep their error body; anything else that went wrong (the database,
        # the cache behind the throttle, a bug) is a 503 denial in JSON: a caller must never read an HTML
        # error page, let alone a grant, out of a failure.
        if not isinstance(exc, DatabaseError):
            try:
                return super().handle_exception(exc)
            except Exception:
                logger.exception("The access check failed; answering 503 with allowed: false.")
        return Response({"allowed": False, "assignment": None, "via_group": None, "ends_at": None,
                         "evaluated_at": timezone.now().isoformat(),
                         "error": "The access check could not be evaluated; denying."},
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "1"})


# --- Directory ------------------------------------------------------------------------------------


@extend_schema(tags=["directory"])
class RoleDefinitionList(PimListView):
    serializer_class = s.RoleDefinitionSerializer
    filterset_class = filters.RoleDefinitionFilterSet
    queryset = RoleDefinition.objects.all()


@extend_schema(tags=["directory"])
class ScopeList(PimListView):
    serializer_class = s.ScopeSerializer
    queryset = Scope.objects.all()

    @property
    def filterset_class(self):
        return ScopeFilterSet


@extend_schema(tags=["directory"])
class PrincipalList(PimListView):
    serializer_class = s.PrincipalSerializer
    queryset = Principal.objects.select_related("user")

    @property
    def filterset_class(self):
        return PrincipalFilterSet


class RoleSettingList(PimListView):
    """Role settings (policies). Anyone signed in may read them; changing one needs an administering
    role for that role at that scope."""

    serializer_class = s.RoleSettingSerializer
    filterset_class = filters.RoleSettingFilterSet
    queryset = RoleSetting.objects.select_related("role", "scope").prefetch_related(
        "approvers", "stages__approvers", "stages__fallback_approvers")

    @extend_schema(tags=["role settings"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="role_settings_update", request=s.RoleSettingWriteSerializer,
                   responses={200: s.RoleSettingSerializer}, tags=["role settings"])
    def post(self, request):
        body = s.RoleSettingWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values = dict(body.validated_data)
        role, scope = values.pop("role"), values.pop("scope", None) or assignment_selectors.scope_root()
        approver_ids, reason = values.pop("approvers", None), values.pop("reason")
        setting = _run_write(request, lambda: role_setting_update(
            actor=_actor(request), role=role, scope=scope, values=values, approver_ids=approver_ids, reason=reason))
        return Response(s.RoleSettingSerializer(setting).data)


# --- Assignments ----------------------------------------------------------------------------------


def _assignments_for(user):
    """What the caller may see: what `assignments_visible_to` grants, plus the caller's own."""
    # One condition, no DISTINCT: the cursor's ORDER BY id … LIMIT reads the primary key's index.
    return assignment_selectors.assignment_list().filter(
        assignment_selectors.assignment_visibility_q(user=user) | Q(principal=user.principal))


class AssignmentList(PimListView):
    """Eligible and active assignments the caller may see (filter with `kind=eligible|active`, `state`,
    `role`, `scope`, …). Creating one is the administrator action "assign"."""

    serializer_class = s.AssignmentSerializer

    @property
    def filterset_class(self):
        return AssignmentFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Assignment.objects.none()
        return _assignments_for(self.request.user)

    @extend_schema(tags=["assignments"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="assignments_create", request=s.AssignmentCreateSerializer,
                   responses={201: s.AssignmentSerializer}, tags=["assignments"])
    def post(self, request):
        body = s.AssignmentCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        assignment = _admin_assign(request, body.validated_data)
        return Response(s.AssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)


def _admin_assign(request, data) -> Assignment:
    for name in ("principal", "role", "scope", "kind"):
        if not data.get(name):
            raise invalid(f"Give the {name}.", field=name)
    role, scope, kind = data["role"], data["scope"], data["kind"]

    return _run_write(request, lambda: assignment_create(
        actor=_actor(request), principal=data["principal"], role=role, scope=scope, kind=kind,
        start_at=data.get("start_at"), end_at=data.get("end_at"), justification=data.get("justification", ""),
        ticket_system=data.get("ticket_system", ""), ticket_number=data.get("ticket_number", "")))


class AssignmentDetail(PimAPIView):
    @extend_schema(operation_id="assignments_retrieve", responses=s.AssignmentSerializer, tags=["assignments"],
                   parameters=[ASSIGNMENT_ID])
    def get(self, request, pk: str):
        found = _assignments_for(request.user).filter(pk=_int_id(pk)).first()
        if found is None:
            raise not_found("No such assignment.")
        return Response(s.AssignmentSerializer(found).data)


# --- Requests -------------------------------------------------------------------------------------


def _requests_for(user):
    if is_service_principal_actor(user):
        return (Request.objects.filter(principal=user.principal)
                .select_related("principal", "role", "scope", "approval_stage").prefetch_related("decisions"))
    return approval_selectors.request_list_for_requester(user=user, limit=None).select_related("waiver")


class RequestPagination(CreatedCursorPagination):
    pass


class RequestList(PimListView):
    """The caller's own requests; `POST` files one, with an action (self-service or administrator)."""

    serializer_class = s.RequestSerializer
    pagination_class = RequestPagination
    filterset_class = filters.RequestFilterSet

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Request.objects.none()
        return _requests_for(self.request.user)

    @extend_schema(tags=["requests"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="requests_create", request=s.RequestCreateSerializer,
                   responses={201: s.RequestResultSerializer}, tags=["requests"])
    def post(self, request):
        body = s.RequestCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        action = data["action"]
        handler = REQUEST_ACTIONS[action]
        result = handler(request, data)
        if isinstance(result, Request):
            # Filed by this call: nobody can have decided it yet, so its decisions need no query.
            result._prefetched_objects_cache = {"decisions": ApprovalDecision.objects.none()}
            payload = {"action": action, "request": result, "assignment": result.assignment}
        else:
            payload = {"action": action, "request": None, "assignment": result}
        return Response(s.RequestResultSerializer(payload).data, status=status.HTTP_201_CREATED)


def _target(data) -> Assignment:
    if not data.get("assignment"):
        raise invalid("Give the assignment this request is about.", field="assignment")
    return _assignment_or_404(data["assignment"])


def _self_activate(request, data):
    # A service principal asks for its own eligibility where the policy allows it (a person approves);
    # the service refuses it everywhere else.
    actor = _actor(request) if is_service_principal_actor(request.user) else _person(request, "activate a role")
    eligible = _target(data)
    if not data.get("duration_minutes"):
        raise invalid("Give the duration in minutes.", field="duration_minutes")
    return _run_write(request, lambda: request_self_activate(
        actor=actor, eligible_assignment=eligible, scope=data.get("scope"),
        duration_minutes=data["duration_minutes"], start_at=data.get("start_at"),
        justification=data.get("justification", ""), ticket_system=data.get("ticket_system", ""),
        ticket_number=data.get("ticket_number", ""), mfa_verified_at=_session_mfa_verified_at(request),
        client_ip=_client_ip(request)))


def _self_deactivate(request, data):
    actor = _person(request, "deactivate a role")
    target = _target(data)
    return _run_write(request, lambda: assignment_deactivate(
        actor=actor, assignment=target, justification=data.get("justification", "")))


def _self_extend(request, data):
    actor = _person(request, "ask for an extension")
    target = _target(data)
    return _run_write(request, lambda: request_self_extend(
        actor=actor, assignment=target, duration_minutes=data.get("duration_minutes"), end_at=data.get("end_at"),
        justification=data.get("justification", "")))


def _self_renew(request, data):
    actor = _person(request, "ask for a renewal")
    target = _target(data)
    if not data.get("end_at"):
        raise invalid("Give the new end.", field="end_at")
    return _run_write(request, lambda: request_self_renew(
        actor=actor, assignment=target, end_at=data["end_at"], justification=data.get("justification", "")))


def _admin_on_assignment(service_name: str, **extra):
    """An administrator action on one assignment (the service applies the administrative MFA rule to
    changes that grant or prolong a privileged role)."""

    def handler(request, data):
        service = getattr(assignment_services, service_name)
        target = _target(data)
        kwargs = {name: data.get(name) for name in extra}
        return _run_write(request, lambda: service(actor=_actor(request), assignment=target,
                                                   justification=data.get("justification", ""), **kwargs))

    return handler


REQUEST_ACTIONS = {
    Request.Action.SELF_ACTIVATE: _self_activate,
    Request.Action.SELF_DEACTIVATE: _self_deactivate,
    Request.Action.SELF_EXTEND: _self_extend,
    Request.Action.SELF_RENEW: _self_renew,
    Request.Action.ADMIN_ASSIGN: _admin_assign,
    Request.Action.ADMIN_UPDATE: _admin_on_assignment("assignment_update", start_at=None, end_at=None),
    Request.Action.ADMIN_REMOVE: _admin_on_assignment("assignment_remove"),
    Request.Action.ADMIN_EXTEND: _admin_on_assignment("assignment_extend", end_at=None),
    Request.Action.ADMIN_RENEW: _admin_on_assignment("assignment_renew", end_at=None),
    Request.Action.ADMIN_MAKE_ACTIVE: _admin_on_assignment("assignment_make_active"),
}


def _request_visible(request, found: Request) -> bool:
    user = request.user
    if found.principal_id == user.principal.pk:
        return True
    if not is_service_principal_actor(user) and found.requested_by_id == user.pk:
        return True
    if not is_service_principal_actor(user) and approval_selectors.approver_can_decide(user=user, request=found):
        return True
    return assignment_selectors.user_can_view(user=user, role=found.role, scope=found.scope)


class RequestDetail(PimAPIView):
    @extend_schema(operation_id="requests_retrieve", parameters=[REQUEST_ID],
                   responses=s.RequestSerializer, tags=["requests"])
    def get(self, request, pk: str):
        found = _request_or_404(pk)
        if not _request_visible(request, found):
            raise not_found("No such request.")
        return Response(s.RequestSerializer(found).data)


class RequestCancel(PimAPIView):
    @extend_schema(operation_id="requests_cancel", parameters=[REQUEST_ID],
                   request=None, responses=s.RequestSerializer, tags=["requests"])
    def post(self, request, pk: str):
        actor = _person(request, "cancel a request")
        found = _request_or_404(pk)
        if not _request_visible(request, found):
            raise not_found("No such request.")
        result = _run_write(request, lambda: request_cancel(actor=actor, request=found))
        return Response(s.RequestSerializer(_request_or_404(result.pk)).data)


# --- Approvals ------------------------------------------------------------------------------------


class ApprovalPagination(CreatedCursorPagination):
    ordering = approval_selectors.QUEUE_ORDER  # oldest first, as the queue page


class ApprovalList(PimListView):
    """Requests waiting for the caller's decision, oldest first (the approver's queue), a cursor page at
    a time: someone who may decide thousands of requests reads `page_size` of them per call."""

    serializer_class = s.RequestSerializer
    pagination_class = ApprovalPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False) or is_service_principal_actor(self.request.user):
            return Request.objects.none()
        return approval_selectors.request_queryset_pending_for_approver(user=self.request.user)

    def paginate_queryset(self, queryset):
        # The cursor chose the page on narrow rows; only the page's rows are loaded in full.
        page = super().paginate_queryset(queryset)
        return approval_selectors.request_rows_in_order(ids=[row.pk for row in page or []])

    @extend_schema(operation_id="approvals_list", tags=["approvals"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class ApprovalDecide(PimAPIView):
    decision = "approve"

    def post(self, request, pk: str):
        actor = _person(request, "decide requests")
        body = (s.DecisionInputSerializer if self.decision == "approve" else s.DenyInputSerializer)(data=request.data)
        body.is_valid(raise_exception=True)
        found = _request_or_404(pk)
        if not _request_visible(request, found):
            raise not_found("No such request.")
        comment = body.validated_data.get("comment", "")
        if self.decision == "approve":
            result = _run_write(request, lambda: approval_services.request_approve(
                actor=actor, request=found, comment=comment, start_at=body.validated_data.get("start_at"),
                end_at=body.validated_data.get("end_at")))
        else:
            result = _run_write(request, lambda: approval_services.request_deny(
                actor=actor, request=found, comment=comment))
        return Response(s.RequestSerializer(_request_or_404(result.pk)).data)


class ApprovalApprove(ApprovalDecide):
    decision = "approve"

    @extend_schema(operation_id="approvals_approve", parameters=[REQUEST_ID],
                   request=s.DecisionInputSerializer,
                   responses=s.RequestSerializer, tags=["approvals"])
    def post(self, request, pk: str):
        return super().post(request, pk)


class ApprovalApproveMany(PimAPIView):
    """Approve several requests at once, as the queue page does: each decided on its own (its own rules,
    transaction and audit event), one MFA check for the batch, one outcome per id."""

    @extend_schema(operation_id="approvals_approve_many", request=s.BulkApproveInputSerializer,
                   responses=s.BulkApproveResultSerializer, tags=["approvals"])
    def post(self, request):
        actor = _person(request, "decide requests")
        body = s.BulkApproveInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        token = request.auth if isinstance(request.auth, ApiToken) else None
        try:
            outcomes = approval_services.request_approve_many(
                actor=actor, request_ids=body.validated_data["ids"], comment=body.validated_data["comment"])
        except DomainError as error:
            if token is not None:
                api_services.api_write_record(token=token, actor=request.user, method=request.method,
                                              path=request.path, outcome=AuditEvent.Outcome.DENIED,
                                              message=error.message)
            raise _explained_for_token(error, token)
        if token is not None:  # after the batch: each request was committed on its own, as on the page
            done = sum(1 for outcome in outcomes if outcome.ok)
            with transaction.atomic():
                api_services.api_write_record(token=token, actor=request.user, method=request.method,
                                              path=request.path, message=f"{done} of {len(outcomes)} approved")
        return Response(s.BulkApproveResultSerializer({"results": outcomes}).data)


class ApprovalDeny(ApprovalDecide):
    decision = "deny"

    @extend_schema(operation_id="approvals_deny", parameters=[REQUEST_ID],
                   request=s.DenyInputSerializer, responses=s.RequestSerializer,
                   tags=["approvals"])
    def post(self, request, pk: str):
        return super().post(request, pk)


# --- Device-code sign-in of the command line (RFC 8628) ---------------------------------------------


class DeviceAuthorizeInputSerializer(serializers.Serializer):
    client_name = serializers.CharField(max_length=100, required=False, allow_blank=True)


class DeviceAuthorizeSerializer(serializers.Serializer):
    device_code = serializers.CharField()
    user_code = serializers.CharField()
    verification_uri = serializers.URLField()
    verification_uri_complete = serializers.URLField()
    expires_in = serializers.IntegerField()
    interval = serializers.IntegerField()


class DeviceTokenInputSerializer(serializers.Serializer):
    device_code = serializers.CharField(max_length=200)


class DeviceTokenSerializer(serializers.Serializer):
    access_token = serializers.CharField()
    token_type = serializers.CharField()
    expires_at = serializers.DateTimeField()
    mfa_verified_at = serializers.DateTimeField(allow_null=True)


class DeviceTokenErrorSerializer(serializers.Serializer):
    error = serializers.CharField()
    error_description = serializers.CharField()


class DeviceAuthorize(PimAPIView):
    """Start a command-line sign-in: a secret device code to poll with and a short user code for the person,
    who opens `verification_uri_complete`, signs in, verifies with their authenticator and approves."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    @extend_schema(operation_id="device_authorize", request=DeviceAuthorizeInputSerializer,
                   responses={200: DeviceAuthorizeSerializer}, tags=["sign-in"], auth=[])
    def post(self, request):
        from django.conf import settings
        from django.urls import reverse

        body = DeviceAuthorizeInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row, device_code = api_services.device_authorization_start(
            client_name=body.validated_data.get("client_name", ""), client_ip=_client_ip(request))
        page = f"{settings.SITE_URL}{reverse('api:device')}"
        return Response({"device_code": device_code, "user_code": row.user_code, "verification_uri": page,
                         "verification_uri_complete": f"{page}?code={row.user_code}",
                         "expires_in": int((row.expires_at - row.created_at).total_seconds()),
                         "interval": row.interval_seconds}, headers={"Cache-Control": "no-store"})


class DeviceToken(PimAPIView):
    """Poll for the token of a command-line sign-in: 200 with it, once, after the approval in the browser;
    until then 400 with an RFC 8628 error (`authorization_pending`, `slow_down`, `access_denied`,
    `expired_token`, `invalid_grant`)."""

    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []

    @extend_schema(operation_id="device_token", request=DeviceTokenInputSerializer,
                   responses={200: DeviceTokenSerializer, 400: DeviceTokenErrorSerializer}, tags=["sign-in"],
                   auth=[])
    def post(self, request):
        # Every 400 of this endpoint is RFC 8628's body, which device-flow clients read, bad input included.
        try:
            body = DeviceTokenInputSerializer(data=request.data)
            valid = body.is_valid()
        except ParseError as error:
            return self._error("invalid_request", str(error.detail))
        if not valid:
            return self._error("invalid_request", "Send the device_code that device/authorize gave.")
        try:
            token, raw = api_services.device_token_exchange(device_code=body.validated_data["device_code"])
        except api_services.DeviceFlowError as error:
            return self._error(error.code, error.description)
        return Response({"access_token": raw, "token_type": "Bearer", "expires_at": token.expires_at.isoformat(),
                         "mfa_verified_at": token.mfa_verified_at.isoformat() if token.mfa_verified_at else None},
                        headers={"Cache-Control": "no-store"})

    @staticmethod
    def _error(code: str, description: str) -> Response:
        return Response({"error": code, "error_description": description}, status=status.HTTP_400_BAD_REQUEST,
                        headers={"Cache-Control": "no-store"})


# --- Audit ----------------------------------------------------------------------------------------


def _audit_queryset(request):
    """Audit events the caller may read (the audit app's visibility rule), filtered by the query string
    with the audit app's one FilterSet."""
    try:
        return audit_selectors.audit_events_filtered(user=request.user, params=request.query_params)
    except audit_selectors.AuditFilterInvalid as error:
        raise serializers.ValidationError(error.errors)


class AuditPagination(SeqCursorPagination):
    pass


class AuditEventList(PimListView):
    serializer_class = s.AuditEventSerializer
    pagination_class = AuditPagination
    filter_backends = []

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AuditEvent.objects.none()
        return _audit_queryset(self.request)

    @extend_schema(operation_id="audit_events_list", parameters=filters.AUDIT_PARAMETERS, tags=["audit"])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class _FirstRendererNegotiation(BaseContentNegotiation):
    """The CSV download streams CSV; its errors are JSON whatever the Accept header says."""

    def select_parser(self, request, parsers):
        return parsers[0]

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class AuditEventCsv(PimAPIView):
    """The filtered audit log as CSV, streamed in bounded memory (any size)."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FirstRendererNegotiation

    @extend_schema(operation_id="audit_events_csv", parameters=[*filters.AUDIT_PARAMETERS, filters.AUDIT_CSV_BOM],
                   responses={(200, "text/csv"): OpenApiResponse(response=OpenApiTypes.STR,
                                                                 description="CSV, one row per event")},
                   tags=["audit"])
    def get(self, request):
        # The page's exporter: the same filters, the same bytes, the same `audit.export` event.
        try:
            csv_export = audit_export.audit_csv_export(user=request.user, params=request.query_params)
        except audit_selectors.AuditFilterInvalid as error:
            raise serializers.ValidationError(error.errors)
        return audit_export.audit_csv_response(csv_export)
