"""Thin Celery tasks of the notifications app: idempotent, bounded, acknowledged late."""

from celery import shared_task
from django.db import DatabaseError

from assignments.tasks import BOUNDS

from .digest import digest_weekly_send
from .outbox import outbox_relay_once
from .reminders import assignments_remind as assignments_remind_sweep


@shared_task(acks_late=True, max_retries=3, soft_time_limit=240, time_limit=300, ignore_result=True)
def outbox_relay(limit: int = 200) -> int:
    """Deliver due outbox rows until none is left (bounded by `limit` per batch, 20 batches).
    Each row is claimed with a lease before delivery, so two relays never deliver the same row."""
    total = 0
    for _ in range(20):
        delivered = outbox_relay_once(limit=limit)
        total += delivered
        if delivered < limit:
            break
    return total


@shared_task(acks_late=True, max_retries=3, autoretry_for=(DatabaseError,), retry_backoff=True,
             soft_time_limit=240, time_limit=300, ignore_result=True)
def weekly_digest() -> int:
    return digest_weekly_send()


@shared_task(**BOUNDS)
def assignments_remind() -> int:
    return assignments_remind_sweep().processed
