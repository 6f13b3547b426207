"""Reads of the directory source pages."""

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from assignments import selectors as assignment_selectors
from assignments.models import Principal

from .models import DirectorySource, DirectorySyncRun

RECENT_RUNS = 10


def user_manages_directory_sources(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)


def directory_source_list() -> QuerySet[DirectorySource]:
    """Every source with its last run's status and time (one query)."""
    last = DirectorySyncRun.objects.filter(source=OuterRef("pk")).order_by("-started_at", "-pk")
    return DirectorySource.objects.annotate(
        last_run_status=Subquery(last.values("status")[:1]),
        last_run_at=Subquery(last.values("started_at")[:1]),
        last_run_id=Subquery(last.values("pk")[:1]),
    ).order_by("name")


def directory_runs(*, source: DirectorySource) -> QuerySet[DirectorySyncRun]:
    return DirectorySyncRun.objects.filter(source=source).select_related("started_by").order_by("-started_at", "-pk")


def directory_source_imported(*, source: DirectorySource) -> dict:
    """How many users and groups the source brought (one query), and whether a run holds it now."""
    counts = Principal.objects.filter(external_source=source.source_key).aggregate(
        users=Count("pk", filter=Q(kind=Principal.Kind.USER)), groups=Count("pk", filter=Q(kind=Principal.Kind.GROUP)))
    return {**counts, "running": source.running_since is not None}
