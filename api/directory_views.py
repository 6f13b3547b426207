"""The directory administration endpoints: users, scopes, custom roles, bulk import and export.

The same services as the pages (`assignments.services`, `directory.bulk_import`), the same rules, the
same audit events; a token's write is also recorded as "api.write" (`_run_write`). Privileged changes
need an administrative token (created after a fresh MFA verification) or a portal session's step-up.
"""

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from assignments import selectors as assignment_selectors
from assignments import services as assignment_services
from assignments.models import Principal, RoleDefinition, Scope, User
from core.errors import forbidden, not_found
from core.ids import parse_id
from directory import bulk_import

from . import directory_serializers as ds
from . import serializers as s
from .views import PimAPIView, RoleDefinitionList, ScopeList, _actor, _FirstRendererNegotiation, _int_id, _run_write

USER_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="User id")
SCOPE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Scope id")
ROLE_ID = OpenApiParameter("id", OpenApiTypes.STR, OpenApiParameter.PATH, description="Role id or slug")


def _user_or_404(pk) -> User:
    found = User.objects.select_related("principal").filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such user.")
    return found


def _scope_or_404(pk) -> Scope:
    found = Scope.objects.select_related("parent").filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such scope.")
    return found


def _role_or_404(pk) -> RoleDefinition:
    text = str(pk).strip()
    number = parse_id(text)
    found = (RoleDefinition.objects.prefetch_related("permissions")
             .filter(**({"pk": number} if number is not None else {"slug": text[:100]})).first())
    if found is None:
        raise not_found("No such role.")
    return found


# --- Users -----------------------------------------------------------------------------------------


class UserCreate(PimAPIView):
    """Create a user (without a password: single sign-on only). Global Administrators, Privileged Role
    Administrators and User Administrators, with an administrative token."""

    @extend_schema(operation_id="users_create", request=ds.UserCreateSerializer,
                   responses={201: ds.UserSerializer}, tags=["directory"])
    def post(self, request):
        body = ds.UserCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor = _actor(request)

        user = _run_write(request, lambda: assignment_services.user_create(
            username=data["username"], email=data["email"], display_name=data["display_name"],
            password=data["password"] or None, time_zone=data["time_zone"], actor=actor))
        return Response(ds.UserSerializer(user).data, status=status.HTTP_201_CREATED)


class UserDetail(PimAPIView):
    @extend_schema(operation_id="users_retrieve", parameters=[USER_ID], responses=ds.UserSerializer,
                   tags=["directory"])
    def get(self, request, pk: str):
        return Response(ds.UserSerializer(_user_or_404(pk)).data)

    @extend_schema(operation_id="users_update", parameters=[USER_ID], request=ds.UserUpdateSerializer,
                   responses=ds.UserUpdateResultSerializer, tags=["directory"],
                   description="Change the display name, email or time zone; `enabled: false` offboards the user "
                               "(every assignment they hold ends in the same transaction), `true` enables them.")
    def patch(self, request, pk: str):
        user = _user_or_404(pk)
        body = ds.UserUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        enabled = data.pop("enabled", None)
        justification = data.pop("justification", "")
        result = _run_write(request, lambda: assignment_services.user_change(
            user=user, actor=_actor(request), enabled=enabled, justification=justification, **data),
            target_of=lambda change: change.user)
        payload = ds.UserSerializer(result.user).data
        return Response({**payload, "changed": result.changed, "ended_assignments": result.ended_assignments})


# --- Scopes ----------------------------------------------------------------------------------------


class ScopeListCreate(ScopeList):
    @extend_schema(operation_id="scopes_create", request=ds.ScopeCreateSerializer,
                   responses={201: ds.ScopeDetailSerializer}, tags=["directory"],
                   description="Add a management group, subscription, resource group or resource under a parent "
                               "of the right kind (Global Administrator, or Owner at the parent or above).")
    def post(self, request):
        body = ds.ScopeCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        scope = _run_write(request, lambda: assignment_services.scope_add(
            kind=data["kind"], name=data["name"], display_name=data["display_name"], parent=data["parent"],
            actor=_actor(request)))
        return Response(ds.ScopeDetailSerializer(scope).data, status=status.HTTP_201_CREATED)


class ScopeDetail(PimAPIView):
    @extend_schema(operation_id="scopes_retrieve", parameters=[SCOPE_ID], responses=ds.ScopeDetailSerializer,
                   tags=["directory"])
    def get(self, request, pk: str):
        return Response(ds.ScopeDetailSerializer(_scope_or_404(pk)).data)

    @extend_schema(operation_id="scopes_update", parameters=[SCOPE_ID], request=ds.ScopeUpdateSerializer,
                   responses=ds.ScopeDetailSerializer, tags=["directory"],
                   description="Rename (`display_name`; the id never changes) and/or move (`parent`: management "
                               "groups and subscriptions only; never under itself or a descendant).")
    def patch(self, request, pk: str):
        scope = _scope_or_404(pk)
        body = ds.ScopeUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        actor = _actor(request)

        def update():
            current = scope
            if "display_name" in data:
                current, _changed = assignment_services.scope_rename(scope=current, display_name=data["display_name"],
                                                                     actor=actor)
            if "parent" in data:
                current, _changed = assignment_services.scope_relocate(scope=current, new_parent=data["parent"],
                                                                       actor=actor)
            return current

        updated = _run_write(request, update)
        return Response(ds.ScopeDetailSerializer(_scope_or_404(updated.pk)).data)

    @extend_schema(operation_id="scopes_destroy", parameters=[SCOPE_ID], responses={204: None}, tags=["directory"],
                   description="Delete an empty scope (no child, no assignment, no role setting); 409 otherwise.")
    def delete(self, request, pk: str):
        scope = _scope_or_404(pk)
        _run_write(request, lambda: assignment_services.scope_delete(scope=scope, actor=_actor(request)),
                   target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Roles -----------------------------------------------------------------------------------------


class RoleListCreate(RoleDefinitionList):
    @extend_schema(operation_id="roles_create", request=ds.RoleCreateSerializer,
                   responses={201: ds.RoleDetailSerializer}, tags=["directory"],
                   description="Create a custom directory or resource role (Global or Privileged Role "
                               "Administrators, with an administrative token).")
    def post(self, request):
        body = ds.RoleCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        role = _run_write(request, lambda: assignment_services.role_definition_add(actor=_actor(request), **data))
        return Response(ds.RoleDetailSerializer(_role_or_404(role.pk)).data, status=status.HTTP_201_CREATED)


class RoleDetail(PimAPIView):
    @extend_schema(operation_id="roles_retrieve", parameters=[ROLE_ID], responses=ds.RoleDetailSerializer,
                   tags=["directory"])
    def get(self, request, pk: str):
        return Response(ds.RoleDetailSerializer(_role_or_404(pk)).data)

    @extend_schema(operation_id="roles_update", parameters=[ROLE_ID], request=ds.RoleUpdateSerializer,
                   responses=ds.RoleDetailSerializer, tags=["directory"],
                   description="Change a custom role (built-in roles are read-only: 403).")
    def patch(self, request, pk: str):
        role = _role_or_404(pk)
        body = ds.RoleUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        updated, _changed = _run_write(request, lambda: assignment_services.role_definition_update(
            role=role, actor=_actor(request), **body.validated_data), target_of=lambda result: result[0])
        return Response(ds.RoleDetailSerializer(_role_or_404(updated.pk)).data)

    @extend_schema(operation_id="roles_destroy", parameters=[ROLE_ID], responses={204: None}, tags=["directory"],
                   description="Delete an unused custom role; 409 while it is assigned or has settings.")
    def delete(self, request, pk: str):
        role = _role_or_404(pk)
        _run_write(request, lambda: assignment_services.role_definition_delete(role=role, actor=_actor(request)),
                   target_of=lambda _result: None)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Bulk import and export ------------------------------------------------------------------------


class DirectoryImport(PimAPIView):
    """The bulk import: `dry_run` (the default) reports what each row would do and every refused row;
    `dry_run: false` applies the whole file in one transaction, or nothing (422 with the report)."""

    @extend_schema(operation_id="directory_import", request=ds.ImportRequestSerializer,
                   responses={200: ds.ImportReportSerializer,
                              422: OpenApiResponse(ds.ImportReportSerializer,
                                                   description="Rows were refused: nothing applied.")},
                   tags=["directory"])
    def post(self, request):
        if not assignment_selectors.user_holds_any(user=request.user,
                                                   role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
            raise forbidden("The bulk import is for Global Administrators and Privileged Role Administrators.")
        body = ds.ImportRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        content = data["content"].encode("utf-8")

        def run():
            return bulk_import.import_run(data=content, fmt=data["format"], filename=data["filename"],
                                          actor=_actor(request), apply=not data["dry_run"])

        report = _run_write(request, run, target_of=lambda _report: None) if not data["dry_run"] else run()
        code = status.HTTP_422_UNPROCESSABLE_ENTITY if report.errors and not data["dry_run"] else status.HTTP_200_OK
        return Response(report.as_dict(), status=code)


class DirectoryExport(PimAPIView):
    """The export, in the import's format: what the caller may see (directory readers only), audited."""

    renderer_classes = [JSONRenderer]
    content_negotiation_class = _FirstRendererNegotiation  # CSV or JSON by `format`; errors always JSON
    @extend_schema(operation_id="directory_export", parameters=[ds.ExportQuerySerializer],
                   responses={(200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT,
                                                                         description="The import's JSON format"),
                              (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR,
                                                                 description="The import's CSV format")},
                   tags=["directory"])
    def get(self, request):
        query = ds.ExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        fmt = query.validated_data["format"]
        data = bulk_import.export_bytes(actor=_actor(request), fmt=fmt)
        response = HttpResponse(data, content_type="text/csv; charset=utf-8" if fmt == "csv" else "application/json")
        response["Content-Disposition"] = (f'attachment; filename="pim-directory-'
                                           f'{timezone.now():%Y%m%d-%H%M}.{fmt}"')
        return response



# --- Groups and service principals -----------------------------------------------------------------


class GroupCreate(PimAPIView):
    """Create a security group (and its scope, `/groups/<object id>`). Members and owners are assignments of
    the Member / Owner role at that scope: `POST /api/v1/assignments/`."""

    @extend_schema(operation_id="groups_create", request=ds.GroupCreateSerializer,
                   responses={201: s.PrincipalSerializer}, tags=["directory"],
                   description="Directory writers (Global, Privileged Role, User and Groups Administrators); a "
                               "role-assignable group (fixed at creation) only Global and Privileged Role "
                               "Administrators. A privileged change: administrative token.")
    def post(self, request):
        body = ds.GroupCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        group = _run_write(request, lambda: assignment_services.group_create(actor=_actor(request), **data))
        return Response(s.PrincipalSerializer(group).data, status=status.HTTP_201_CREATED)


class ServicePrincipalCreate(PimAPIView):
    """Create a service principal (an application identity); give it a credential with
    `POST /api/v1/api-tokens/` (`service_principal`) and roles with `POST /api/v1/assignments/`."""

    @extend_schema(operation_id="service_principals_create", request=ds.ServicePrincipalCreateSerializer,
                   responses={201: s.PrincipalSerializer}, tags=["directory"],
                   description="Application writers (Global, Privileged Role and Application Administrators). A "
                               "privileged change: administrative token.")
    def post(self, request):
        body = ds.ServicePrincipalCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sp = _run_write(request, lambda: assignment_services.service_principal_create(actor=_actor(request),
                                                                                    **body.validated_data))
        return Response(s.PrincipalSerializer(sp).data, status=status.HTTP_201_CREATED)


PRINCIPAL_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="Principal id")


class PrincipalDetail(PimAPIView):
    @extend_schema(operation_id="principals_retrieve", parameters=[PRINCIPAL_ID], responses=s.PrincipalSerializer,
                   tags=["directory"])
    def get(self, request, pk: str):
        found = Principal.objects.select_related("user").filter(pk=_int_id(pk)).first()
        if found is None:
            raise not_found("No such principal.")
        return Response(s.PrincipalSerializer(found).data)
