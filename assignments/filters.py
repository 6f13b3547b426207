"""FilterSets shared by the HTML lists, the API and the CSV exports. No permission rules here: callers
pass a queryset already limited to what the person may see (`selectors.assignments_visible_to`)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone

from .models import Assignment, Principal, RoleDefinition, Scope, held_at_q, not_over_q


class AssignmentFilterSet(django_filters.FilterSet):
    """Assignments by role, scope (optionally including everything below it), principal, kind, state,
    duration and origin, plus free text."""

    STATE_CHOICES = [
        ("live", "Current or scheduled"),
        ("current", "In effect now"),
        ("scheduled", "Scheduled (future start)"),
        ("expired", "Expired"),
        ("ended", "Ended early (removed, deactivated, converted)"),
    ]
    DURATION_CHOICES = [("permanent", "Permanent"), ("time_bound", "Time-bound")]

    q = django_filters.CharFilter(method="filter_text", label="Search")
    role = django_filters.ModelChoiceFilter(queryset=RoleDefinition.objects.order_by("kind", "name"), label="Role",
                                         empty_label="Any role")
    role_kind = django_filters.ChoiceFilter(field_name="role__kind", choices=RoleDefinition.Kind.choices,
                                            label="Role kind", empty_label="Any")
    scope = django_filters.CharFilter(method="filter_scope", label="Scope",
                                      widget=forms.TextInput(attrs={"placeholder": "/subscriptions/…"}))
    below = django_filters.BooleanFilter(method="filter_noop", label="Include scopes below",
                                         widget=forms.CheckboxInput)
    principal = django_filters.ModelChoiceFilter(queryset=Principal.objects.all(), label="Principal",
                                                 widget=forms.HiddenInput)
    principal_kind = django_filters.ChoiceFilter(field_name="principal__kind", choices=Principal.Kind.choices,
                                                 label="Principal kind", empty_label="Any")
    kind = django_filters.ChoiceFilter(choices=Assignment.Kind.choices, label="Assignment",
                                  empty_label="Eligible or active")
    state = django_filters.ChoiceFilter(method="filter_state", choices=STATE_CHOICES, label="State",
                                       empty_label="Any state")
    duration = django_filters.ChoiceFilter(method="filter_duration", choices=DURATION_CHOICES,
                                          label="Duration", empty_label="Any")
    origin = django_filters.ChoiceFilter(choices=Assignment.Origin.choices, label="Origin", empty_label="Any")

    class Meta:
        model = Assignment
        fields = ["q", "role", "role_kind", "scope", "below", "principal", "principal_kind", "kind", "state",
                  "duration", "origin"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(principal__display_name__icontains=value) | Q(principal__email__icontains=value)
            | Q(role__name__icontains=value) | Q(scope__path__icontains=value)
            | Q(scope__display_name__icontains=value) | Q(justification__icontains=value)
            | Q(ticket_number__icontains=value)
        )

    def filter_noop(self, queryset, name, value):
        return queryset  # read by filter_scope

    def filter_scope(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        if self.form.cleaned_data.get("below"):
            # The closure table holds (ancestor, descendant) once per pair, so this join adds no duplicates.
            return queryset.filter(scope__ancestor_links__ancestor__path=value)
        return queryset.filter(scope__path=value)

    def filter_state(self, queryset, name, value):
        now = timezone.now()
        live = Q(status=Assignment.Status.LIVE)
        if value == "live":
            return queryset.filter(not_over_q(now))
        if value == "current":
            return queryset.filter(held_at_q(now))
        if value == "scheduled":
            return queryset.filter(live, start_at__gt=now)
        if value == "expired":
            return queryset.filter(
                (live & Q(end_at__lte=now))
                | Q(status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.EXPIRED)
            )
        if value == "ended":
            return queryset.filter(status=Assignment.Status.ENDED).exclude(end_reason=Assignment.EndReason.EXPIRED)
        return queryset

    def filter_duration(self, queryset, name, value):
        if value == "permanent":
            return queryset.filter(end_at__isnull=True)
        if value == "time_bound":
            return queryset.filter(end_at__isnull=False)
        return queryset


class PrincipalFilterSet(django_filters.FilterSet):
    """The directory: users, groups and service principals by kind, state and text."""

    q = django_filters.CharFilter(method="filter_text", label="Search")
    kind = django_filters.ChoiceFilter(choices=Principal.Kind.choices, label="Kind", empty_label="Any")
    enabled = django_filters.BooleanFilter(
        label="State", widget=forms.Select(choices=[("", "Any"), ("true", "Enabled"), ("false", "Disabled")]))
    role_assignable = django_filters.BooleanFilter(
        label="Role-assignable", widget=forms.Select(choices=[("", "Any"), ("true", "Yes"), ("false", "No")]))

    class Meta:
        model = Principal
        fields = ["q", "kind", "enabled", "role_assignable"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(display_name__icontains=value) | Q(email__icontains=value) | Q(user__username__icontains=value)
            | Q(description__icontains=value)
        )


class ScopeFilterSet(django_filters.FilterSet):
    """Scopes by kind and text (path or display name); the scope picker searches with it."""

    q = django_filters.CharFilter(method="filter_text", label="Search")
    kind = django_filters.MultipleChoiceFilter(choices=Scope.Kind.choices, label="Kind")

    class Meta:
        model = Scope
        fields = ["q", "kind"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(path__icontains=value) | Q(display_name__icontains=value))
