"""The one FilterSet of the audit log, shared by the HTML list, the CSV export and the API.

It holds no permission rule: callers apply it to what the user may see
(`auditlog.selectors.audit_events_filtered`).
"""

from datetime import datetime, time, timedelta

import django_filters
from django import forms
from django.db.models import CharField, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from assignments.models import Principal, Scope, User
from audit.models import AuditEvent
from core.ids import parse_id
from core.timezones import zone_label

PERIOD_CHOICES = [
    ("today", "Today"),
    ("7d", "Last 7 days"),
    ("30d", "Last 30 days"),
    ("custom", "Custom range"),
]


def _day_start(day) -> datetime:
    """Midnight of that day in the current zone: the person's on the page and its CSV, UTC in the API."""
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _id_or_label_q(value: str, id_field: str, label_field: str) -> Q:
    """"#12": id 12 only; "12": id 12 or a label containing "12"; otherwise a label containing it."""
    value = value.strip()
    exact_id = parse_id(value[1:]) if value.startswith("#") else None
    if exact_id is not None:
        return Q(**{id_field: exact_id})
    number = parse_id(value)
    if number is not None:
        return Q(**{id_field: number}) | Q(**{f"{label_field}__icontains": value})
    return Q(**{f"{label_field}__icontains": value})


def _id_or_label(queryset: QuerySet, value: str, id_field: str, label_field: str) -> QuerySet:
    return queryset.filter(_id_or_label_q(value, id_field, label_field))


class AuditFilterForm(forms.Form):
    """The filter form: a range whose end comes before its start is an error, not an empty result."""

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", f"The end of the range ({end.isoformat()}) is before its start "
                                      f"({start.isoformat()}): pick a To date on or after the From date.")
        return cleaned


class AuditEventFilter(django_filters.FilterSet):
    period = django_filters.ChoiceFilter(choices=PERIOD_CHOICES, method="filter_period", label="Period",
                                         empty_label="Any time")
    date_from = django_filters.DateFilter(method="filter_date_from", label=zone_label("From"),
                                          widget=forms.DateInput(attrs={"type": "date"}))
    date_to = django_filters.DateFilter(method="filter_date_to", label=zone_label("To, inclusive"),
                                        widget=forms.DateInput(attrs={"type": "date"}))
    actor = django_filters.CharFilter(method="filter_actor", label="Actor",
                                      help_text="Name contains, or #id")
    action = django_filters.CharFilter(method="filter_action", label="Action",
                                       help_text="e.g. assignment.create, or assignment. for all")
    role = django_filters.CharFilter(method="filter_role", label="Role")
    scope = django_filters.CharFilter(method="filter_scope", label="Scope (and below)")
    principal = django_filters.CharFilter(method="filter_principal", label="Principal",
                                          help_text="Name contains, or #id: their assignments, sign-ins and MFA")
    outcome = django_filters.ChoiceFilter(choices=AuditEvent.Outcome.choices, label="Outcome", empty_label="Any")
    q = django_filters.CharFilter(method="filter_text", label="Justification or ticket contains")

    class Meta:
        model = AuditEvent
        form = AuditFilterForm
        fields: list[str] = []

    def filter_period(self, queryset, name, value):
        now = timezone.now()
        if value == "today":
            return queryset.filter(occurred_at__gte=_day_start(timezone.localdate(now)))
        if value == "7d":
            return queryset.filter(occurred_at__gte=now - timedelta(days=7))
        if value == "30d":
            return queryset.filter(occurred_at__gte=now - timedelta(days=30))
        return queryset  # "custom": the date fields apply

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=_day_start(value))

    def filter_date_to(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=_day_start(value + timedelta(days=1)))

    def filter_actor(self, queryset, name, value):
        if value.strip().lower() == "system":
            return queryset.filter(actor_id__isnull=True)
        return _id_or_label(queryset, value, "actor_id", "actor_label")

    def filter_principal(self, queryset, name, value):
        """Events about the principal (its assignments, requests, …) and, for a person, the events where
        they are the actor or the subject: their own sign-ins, MFA enrolment and verification, the
        enrolment codes issued to them. The principal is matched by its id or name now, and by the
        label the event recorded."""
        principals = _id_or_label(Principal.objects.filter(user__isnull=False), value, "pk", "display_name")
        user_ids = principals.values("user_id")
        user_ids_text = principals.annotate(user_id_text=Cast("user_id", CharField())).values("user_id_text")
        return queryset.filter(_id_or_label_q(value, "principal_id", "principal_label") | Q(actor_id__in=user_ids)
                               | Q(target_type=User._meta.label_lower, target_id__in=user_ids_text))

    def filter_role(self, queryset, name, value):
        return _id_or_label(queryset, value, "role_id", "role_label")

    def filter_action(self, queryset, name, value):
        value = value.strip()
        if value.endswith((".", "*")):
            return queryset.filter(action__startswith=value.rstrip("*"))
        return queryset.filter(action=value)

    def filter_scope(self, queryset, name, value):
        """At or below the scope. Descendants come from the scope closure in one subquery (management
        groups are not path prefixes of their subscriptions); the path prefix also catches events
        about scopes that no longer exist."""
        path = value.strip()
        if not path:
            return queryset
        descendants = Scope.objects.filter(ancestor_links__ancestor__path=path).values("path")
        prefix = path if path.endswith("/") else path + "/"
        return queryset.filter(Q(scope_path=path) | Q(scope_path__startswith=prefix) | Q(scope_path__in=descendants))

    def filter_text(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(justification__icontains=value) | Q(ticket__icontains=value))

    def summary(self) -> dict[str, str]:
        """The filters in effect, for the export's own audit event and the page heading."""
        if not self.is_bound or not self.form.is_valid():
            return {}
        return {name: str(value) for name, value in self.form.cleaned_data.items() if value not in (None, "")}
