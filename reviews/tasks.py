"""Thin Celery tasks of access reviews, run from the beat schedule. Each calls one service; the
services are idempotent (conditional updates), so a task that runs twice or overlaps is harmless."""

from celery import shared_task

from . import services


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def reviews_start() -> int:
    """Complete the instances that are over, then start those whose start has come."""
    return services.reviews_start_due()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def reviews_complete() -> int:
    return services.reviews_complete_due()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def reviews_remind() -> int:
    return services.reviews_remind_due()


@shared_task(acks_late=True, soft_time_limit=240, time_limit=300)
def reviews_apply(limit: int = 2000) -> int:
    """Apply completed auto-apply instances, `limit` removals per instance per run."""
    return services.reviews_apply_due(limit=limit)
