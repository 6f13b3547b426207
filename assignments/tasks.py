"""Thin Celery tasks for the sweeps in `assignments.sweeps`: no rules here.

All are idempotent (a second delivery finds nothing due), bounded (time limits, a deadline inside
the loop, a few retries on database errors) and acknowledged late (CELERY_TASK_ACKS_LATE), so a
worker lost mid-run leaves the task to be redelivered and the committed batches done.
"""

from celery import shared_task
from django.db import DatabaseError

from . import sweeps

BOUNDS = {"acks_late": True, "soft_time_limit": 240, "time_limit": 300, "max_retries": 3,
          "autoretry_for": (DatabaseError,), "retry_backoff": True, "ignore_result": True}


@shared_task(**BOUNDS)
def assignments_expire(batch_size: int = sweeps.DEFAULT_BATCH) -> int:
    """Expire what has ended (stops after ~200 s; the next beat continues)."""
    return sweeps.assignments_expire(batch_size=batch_size, deadline_seconds=200).processed


@shared_task(**BOUNDS)
def requests_start_scheduled() -> int:
    return sweeps.requests_start_scheduled().processed


@shared_task(**BOUNDS)
def assignments_remind() -> int:
    return sweeps.assignments_remind().processed


@shared_task(**BOUNDS)
def requests_time_out() -> int:
    return sweeps.requests_time_out()
