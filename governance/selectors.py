"""Reads of governance pages: who may use them, conflict sets and exceptions."""

from django.db.models import QuerySet
from django.utils import timezone

from assignments.selectors import DIRECTORY_ADMIN_ROLES, DIRECTORY_VIEWER_ROLES, user_holds_any

from .models import ConflictException, ConflictSet


def user_can_view_governance(*, user) -> bool:
    """Directory-wide readers and administrators: the pages read everyone's eligibility."""
    return user_holds_any(user=user, role_slugs=DIRECTORY_VIEWER_ROLES)


def user_can_change_governance(*, user) -> bool:
    """Global and Privileged Role Administrators change sets, exceptions and right-sizing settings."""
    return user_holds_any(user=user, role_slugs=DIRECTORY_ADMIN_ROLES)


def conflict_sets() -> QuerySet[ConflictSet]:
    return ConflictSet.objects.prefetch_related("roles").order_by("name")


def exceptions_live() -> QuerySet[ConflictException]:
    return (ConflictException.objects.filter(revoked_at__isnull=True, end_at__gt=timezone.now())
            .select_related("conflict_set", "principal", "created_by").order_by("end_at"))
