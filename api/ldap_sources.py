"""LDAP / Active Directory sources in the REST API: configure (the bind password is write-only), Test
connection, Run now, import an LDIF file, read the runs. The same services as the pages
(`directory.ldap_sync`), the same rule (Global and Privileged Role Administrators), the same step-up
(configuring, running and importing are privileged: an administrative token or the session's step-up) and
the same audit events, plus the token's "api.write". A service principal manages no source: the services
record the person who configured or started a run."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.errors import forbidden, invalid, not_found
from directory import ldap_selectors as selectors
from directory import ldap_sync as services
from directory.ldap_client import MAX_LDIF_BYTES
from directory.models import DirectorySource, DirectorySyncRun

from .authentication import is_service_principal_actor
from .pagination import CursorPagination
from .views import PimAPIView, PimListView, _int_id, _mfa_verified_at, _run_write

SOURCE_ID = OpenApiParameter("id", int, OpenApiParameter.PATH, description="Directory source id")
RUN_ID = OpenApiParameter("run_id", int, OpenApiParameter.PATH, description="Run id")


class DirectorySourceSerializer(serializers.ModelSerializer):
    has_password = serializers.SerializerMethodField()
    last_run_status = serializers.CharField(read_only=True, allow_null=True, default=None)
    last_run_at = serializers.DateTimeField(read_only=True, allow_null=True, default=None)

    class Meta:
        model = DirectorySource
        fields = ["id", *services.CONFIG_FIELDS, "has_password", "watermark", "last_full_at", "last_incremental_at",
                  "running_since", "last_run_status", "last_run_at", "created_at", "updated_at"]

    def get_has_password(self, obj) -> bool:
        return bool(obj.bind_password_sealed)


def _text(max_length: int, **extra):
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length, **extra)


class DirectorySourceWriteSerializer(serializers.Serializer):
    """Only the fields given change; a new source starts from its preset's filters and mapping. The service
    checks everything again (required fields, DNs, filters, ranges)."""

    name = serializers.CharField(required=False, max_length=200)
    enabled = serializers.BooleanField(required=False)
    preset = serializers.ChoiceField(choices=DirectorySource.Preset.choices, required=False)
    url = _text(500, help_text="ldap://host:389 or ldaps://host:636; empty: LDIF imports only.")
    start_tls = serializers.BooleanField(required=False)
    ca_certificate = _text(20000)
    bind_dn = _text(500)
    base_dns = _text(5000, help_text="One DN a line.")
    user_filter = _text(1000)
    group_filter = _text(1000)
    user_id_attribute = _text(100)
    username_attribute = _text(100)
    email_attribute = _text(100)
    email_fallback_attribute = _text(100)
    display_name_attribute = _text(100)
    group_id_attribute = _text(100)
    group_name_attribute = _text(100)
    member_attribute = _text(100)
    disabled_attribute = _text(100)
    disabled_mode = serializers.ChoiceField(choices=DirectorySource.DisabledMode.choices, required=False)
    disabled_value = _text(200)
    change_attribute = serializers.ChoiceField(choices=DirectorySource.ChangeAttribute.choices, required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=10000)
    timeout_seconds = serializers.IntegerField(required=False, min_value=1, max_value=600)
    full_every_minutes = serializers.IntegerField(required=False, min_value=5, max_value=60 * 24 * 31)
    incremental_every_minutes = serializers.IntegerField(required=False, min_value=0, max_value=60 * 24)
    min_entries_percent = serializers.IntegerField(required=False, min_value=0, max_value=100)
    password = serializers.CharField(required=False, allow_blank=True, write_only=True, trim_whitespace=False,
                                     max_length=1000,
                                     help_text="The bind password (stored encrypted, never returned); on a change, "
                                               "omit it to keep the stored one, \"\" to remove it.")

    def validate(self, data):
        for name, value in data.items():
            if isinstance(value, str) and "\x00" in value:
                raise serializers.ValidationError({name: "Null characters are not allowed."})
        return data


class RunSerializer(serializers.ModelSerializer):
    started_by = serializers.CharField(source="started_by.username", allow_null=True, default=None)

    class Meta:
        model = DirectorySyncRun
        fields = ["id", "source", "kind", "status", "started_at", "finished_at", "duration_ms", "started_by",
                  "users_read", "groups_read", "users_created", "users_updated", "users_disabled", "users_unchanged",
                  "groups_created", "groups_updated", "groups_unchanged", "memberships_added", "memberships_removed",
                  "skipped", "problems", "error", "watermark"]


class SourceTestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    lines = serializers.ListField(child=serializers.CharField(), help_text="What it found, or why it failed.")


class RunNowSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[DirectorySyncRun.Kind.FULL, DirectorySyncRun.Kind.INCREMENTAL])


class QueuedSerializer(serializers.Serializer):
    queued = serializers.BooleanField()
    message = serializers.CharField()


class LdifImportSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=MAX_LDIF_BYTES, trim_whitespace=False,
                                    help_text="The LDIF file's text (UTF-8).")
    name = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")


def _gate(request) -> None:
    if is_service_principal_actor(request.user):
        raise forbidden("A service principal cannot manage directory sources: that is for people.")
    if not selectors.user_manages_directory_sources(user=request.user):
        raise forbidden("Only Global Administrators and Privileged Role Administrators manage directory sources.")


def _source(pk) -> DirectorySource:
    found = DirectorySource.objects.filter(pk=_int_id(pk)).first()
    if found is None:
        raise not_found("No such directory source.")
    return found


def _listed(pk: int) -> DirectorySource:
    return selectors.directory_source_list().get(pk=pk)


def _values(data: dict) -> tuple[dict, str | None]:
    values = dict(data)
    return values, values.pop("password", None)


class SourceList(PimAPIView):
    @extend_schema(operation_id="ldap_sources_list", responses=DirectorySourceSerializer(many=True),
                   tags=["directory sources"])
    def get(self, request):
        _gate(request)
        return Response(DirectorySourceSerializer(selectors.directory_source_list(), many=True).data)

    @extend_schema(operation_id="ldap_sources_create", request=DirectorySourceWriteSerializer,
                   responses={201: DirectorySourceSerializer}, tags=["directory sources"],
                   description="Add a source (a privileged change: administrative token). Unset filters and "
                               "attributes come from the preset (Active Directory by default).")
    def post(self, request):
        _gate(request)
        body = DirectorySourceWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values, password = _values(body.validated_data)
        source = _run_write(request, lambda: services.directory_source_create(
            actor=request.user, values=values, password=password or "", mfa_verified_at=_mfa_verified_at(request)))
        return Response(DirectorySourceSerializer(_listed(source.pk)).data, status=status.HTTP_201_CREATED)


class ReleasedSerializer(serializers.Serializer):
    users = serializers.IntegerField(help_text="Users released (no longer synced).")
    groups = serializers.IntegerField(help_text="Groups released (no longer synced).")


class SourceDetail(PimAPIView):
    @extend_schema(operation_id="ldap_sources_retrieve", parameters=[SOURCE_ID],
                   responses=DirectorySourceSerializer, tags=["directory sources"])
    def get(self, request, pk: str):
        _gate(request)
        return Response(DirectorySourceSerializer(_listed(_source(pk).pk)).data)

    @extend_schema(operation_id="ldap_sources_update", parameters=[SOURCE_ID], request=DirectorySourceWriteSerializer,
                   responses=DirectorySourceSerializer, tags=["directory sources"],
                   description="Change the fields given (a privileged change). `enabled: false` stops its "
                               "scheduled runs.")
    def patch(self, request, pk: str):
        _gate(request)
        source = _source(pk)
        body = DirectorySourceWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        values, password = _values(body.validated_data)
        _run_write(request, lambda: services.directory_source_update(
            actor=request.user, source=source, values=values, password=password,
            mfa_verified_at=_mfa_verified_at(request)))
        return Response(DirectorySourceSerializer(_listed(source.pk)).data)

    @extend_schema(operation_id="ldap_sources_destroy", parameters=[SOURCE_ID], request=None,
                   responses={200: ReleasedSerializer}, tags=["directory sources"],
                   description="Delete a source (a privileged change): its configuration, runs and DN index go; "
                               "the users and groups it imported stay, released to be managed in the portal. "
                               "409 while a run is in progress.")
    def delete(self, request, pk: str):
        _gate(request)
        source = _source(pk)
        released = _run_write(request, lambda: services.directory_source_delete(
            actor=request.user, source=source, mfa_verified_at=_mfa_verified_at(request)))
        return Response(ReleasedSerializer(released).data)


class SourceTest(PimAPIView):
    @extend_schema(operation_id="ldap_sources_test", parameters=[SOURCE_ID], request=None,
                   responses=SourceTestResultSerializer, tags=["directory sources"],
                   description="Bind and look for a user and a group. Reads only; changes nothing.")
    def post(self, request, pk: str):
        _gate(request)
        worked, lines = services.directory_source_test(actor=request.user, source=_source(pk))
        return Response({"ok": worked, "lines": lines})


class SourceRun(PimAPIView):
    @extend_schema(operation_id="ldap_sources_run", parameters=[SOURCE_ID], request=RunNowSerializer,
                   responses={202: QueuedSerializer}, tags=["directory sources"],
                   description="Queue a full or incremental run for the worker (a privileged change); the run "
                               "shows in the runs list when it starts.")
    def post(self, request, pk: str):
        _gate(request)
        source = _source(pk)
        body = RunNowSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        kind = body.validated_data["kind"]
        _run_write(request, lambda: services.directory_sync_request(
            actor=request.user, source=source, kind=kind, mfa_verified_at=_mfa_verified_at(request)),
            target_of=lambda _result: source)
        return Response({"queued": True, "message": f"A {kind} run of {source.name} is queued."},
                        status=status.HTTP_202_ACCEPTED)


class SourceImport(PimAPIView):
    @extend_schema(operation_id="ldap_sources_import", parameters=[SOURCE_ID], request=LdifImportSerializer,
                   responses={202: QueuedSerializer}, tags=["directory sources"],
                   description="Queue an LDIF file: its entries go through the source's mapping and safety rules "
                               "as a full run's would (a privileged change).")
    def post(self, request, pk: str):
        _gate(request)
        source = _source(pk)
        body = LdifImportSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data["content"].encode("utf-8", "surrogatepass")
        if len(data) > MAX_LDIF_BYTES:
            raise invalid(f"The file is larger than {MAX_LDIF_BYTES // (1024 * 1024)} MB.", field="content")
        _run_write(request, lambda: services.directory_ldif_import(
            actor=request.user, source=source, data=data, name=body.validated_data["name"],
            mfa_verified_at=_mfa_verified_at(request)), target_of=lambda _result: source)
        return Response({"queued": True, "message": f"The file is queued for {source.name}."},
                        status=status.HTTP_202_ACCEPTED)


class RunPagination(CursorPagination):
    ordering = ("-started_at", "-id")


class SourceRuns(PimListView):
    """The source's runs, newest first (cursor pagination)."""

    serializer_class = RunSerializer
    pagination_class = RunPagination
    queryset = DirectorySyncRun.objects.none()  # for the schema; get_queryset reads the source's runs

    def get_queryset(self):
        return selectors.directory_runs(source=_source(self.kwargs["pk"]))

    @extend_schema(operation_id="ldap_sources_runs", parameters=[SOURCE_ID], tags=["directory sources"])
    def get(self, request, *args, **kwargs):
        _gate(request)
        return super().get(request, *args, **kwargs)


class SourceRunDetail(PimAPIView):
    @extend_schema(operation_id="ldap_sources_run_retrieve", parameters=[SOURCE_ID, RUN_ID],
                   responses=RunSerializer, tags=["directory sources"])
    def get(self, request, pk: str, run_id: str):
        _gate(request)
        source = _source(pk)
        run = selectors.directory_runs(source=source).filter(pk=_int_id(run_id)).first()
        if run is None:
            raise not_found("No such run of this source.")
        return Response(RunSerializer(run).data)
