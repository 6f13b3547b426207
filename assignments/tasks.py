"""Thin Celery tasks for the sweeps in `assignments.sweeps` (`approvals.tasks` and `notifications.tasks`
run the request and reminder sweeps): no rules here.

All are idempotent (a second delivery finds nothing due), bounded (time limits, a deadline inside
the loop, a few retries on database errors) and acknowledged late (CELERY_TASK_ACKS_LATE), so a
worker lost mid-run leaves the task to be redelivered and the committed batches done.
"""

import logging

from celery import shared_task
from django.conf import settings
from django.db import DatabaseError, connection

from . import sweeps

logger = logging.getLogger(__name__)

BOUNDS = {"acks_late": True, "soft_time_limit": 240, "time_limit": 300, "max_retries": 3,
          "autoretry_for": (DatabaseError,), "retry_backoff": True, "ignore_result": True}


DEADLINE_SECONDS = 200  # under the soft time limit; the next beat continues what is left


@shared_task(**BOUNDS)
def assignments_expire(batch_size: int = sweeps.DEFAULT_BATCH) -> int:
    """Expire what has ended. The beat runs this every minute; usually one batch holds everything.
    When the first batch comes back full there is a backlog (a mass expiry, or the portal was down),
    and on PostgreSQL `PIM_SWEEP_WORKERS - 1` helpers are queued to share it from other worker
    processes."""
    first = sweeps.assignments_expire(batch_size=batch_size, max_batches=1).processed
    if first < batch_size:
        return first
    if connection.vendor == "postgresql":  # SQLite serialises writers: helpers there would only wait
        for _ in range(settings.PIM_SWEEP_WORKERS - 1):
            try:
                assignments_expire_share.delay(batch_size)
            except Exception as error:  # noqa: BLE001 — no broker, no helper: this task does it all
                logger.warning("Expiry helper not queued (broker unavailable?): %s", error)
                break
    return first + sweeps.assignments_expire(batch_size=batch_size, deadline_seconds=DEADLINE_SECONDS).processed


@shared_task(**BOUNDS)
def assignments_expire_share(batch_size: int = sweeps.DEFAULT_BATCH) -> int:
    """A helper of `assignments_expire`: takes batches until none is left (SKIP LOCKED keeps the
    helpers on disjoint rows). Harmless when it arrives late: it finds nothing due."""
    return sweeps.assignments_expire(batch_size=batch_size, deadline_seconds=DEADLINE_SECONDS).processed
