"""Thin Celery task for the break-glass review escalation, bounded like `assignments.tasks`."""

from celery import shared_task

from assignments.tasks import BOUNDS

from . import breakglass


@shared_task(**BOUNDS)
def break_glass_reviews_escalate() -> int:
    return breakglass.break_glass_reviews_escalate_due()
