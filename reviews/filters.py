"""One FilterSet for review items, shared by the results page, the reviewer's page and the CSV export."""

import django_filters
from django.db.models import Q

from assignments.models import Principal

from .models import AccessReviewItem


class ReviewItemFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_text", label="Search")
    decision = django_filters.ChoiceFilter(
        choices=[("none", "Not reviewed")] + [c for c in AccessReviewItem.Decision.choices if c[0]],
        method="filter_decision", label="Decision", empty_label="Any")
    principal_kind = django_filters.ChoiceFilter(field_name="principal__kind", choices=Principal.Kind.choices,
                                                 label="Principal", empty_label="Any")
    kind = django_filters.ChoiceFilter(choices=[("eligible", "Eligible"), ("active", "Active")], label="Assignment",
                                       empty_label="Any")
    apply_state = django_filters.ChoiceFilter(choices=AccessReviewItem.ApplyState.choices, label="Applied",
                                              empty_label="Any")

    class Meta:
        model = AccessReviewItem
        fields = ["q", "decision", "principal_kind", "kind", "apply_state"]

    def filter_text(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(principal__display_name__icontains=value) | Q(principal__email__icontains=value)
                               | Q(scope__path__icontains=value) | Q(reason__icontains=value))

    def filter_decision(self, queryset, name, value):
        return queryset.filter(decision="" if value == "none" else value)
