"""Thin Celery task for the break-glass review escalation, bounded like `assignments.tasks`."""

from celery import shared_task

from assignments.tasks import BOUNDS

from . import services


@shared_task(**BOUNDS)
def break_glass_reviews_escalate() -> int:
    return services.break_glass_reviews_escalate_due()
