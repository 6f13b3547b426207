"""Thin Celery tasks for the break-glass review escalation and the roster refresh, bounded like
`assignments.tasks`."""

from celery import shared_task

from assignments.tasks import BOUNDS

from . import breakglass, services


@shared_task(**BOUNDS)
def break_glass_reviews_escalate() -> int:
    return breakglass.break_glass_reviews_escalate_due()


@shared_task(**BOUNDS)
def auto_approval_rosters_refresh() -> int:
    return services.auto_approval_rosters_refresh_due()
