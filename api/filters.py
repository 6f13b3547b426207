"""FilterSets of the API lists the other apps do not define (role definitions, role settings, the
caller's requests), and the audit filter's parameters for the schema (the audit log's one FilterSet is
`auditlog.filters.AuditEventFilter`, shared with its page and CSV export)."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from approvals.models import Request
from assignments.models import RoleDefinition, RoleSetting
from auditlog.filters import AuditEventFilter


class RoleDefinitionFilterSet(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=RoleDefinition.Kind.choices)
    is_privileged = django_filters.BooleanFilter()
    slug = django_filters.CharFilter()

    class Meta:
        model = RoleDefinition
        fields = ["kind", "is_privileged", "slug"]


class RoleSettingFilterSet(django_filters.FilterSet):
    role = django_filters.CharFilter(field_name="role__slug", label="Role slug")
    scope = django_filters.CharFilter(field_name="scope__path", label="Scope path")

    class Meta:
        model = RoleSetting
        fields = ["role", "scope"]


class RequestFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Request.Status.choices)
    action = django_filters.ChoiceFilter(choices=Request.Action.choices)

    class Meta:
        model = Request
        fields = ["status", "action"]


def _parameter(name: str, item) -> OpenApiParameter:
    choices = item.extra.get("choices")
    if isinstance(item, django_filters.ChoiceFilter) and choices:
        return OpenApiParameter(name, OpenApiTypes.STR, enum=[str(c[0]) for c in choices],
                                description=str(item.label or ""))
    kind = OpenApiTypes.STR
    if isinstance(item, django_filters.NumberFilter):
        kind = OpenApiTypes.INT
    elif isinstance(item, django_filters.IsoDateTimeFilter):
        kind = OpenApiTypes.DATETIME
    elif isinstance(item, django_filters.DateFilter):
        kind = OpenApiTypes.DATE
    elif isinstance(item, django_filters.UUIDFilter):
        kind = OpenApiTypes.UUID
    return OpenApiParameter(name, kind, description=str(item.label or ""))


# The audit app's filter (the same one its page and CSV export use), documented for the API.
AUDIT_PARAMETERS = [_parameter(name, item) for name, item in AuditEventFilter.base_filters.items()]
AUDIT_CSV_BOM = OpenApiParameter("bom", OpenApiTypes.STR, enum=["0", "1"],
                                 description="1: start the file with a UTF-8 byte order mark, for Excel. "
                                             "Default: plain UTF-8.")
