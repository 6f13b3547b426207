"""Thin Celery tasks of the notifications app."""

from celery import shared_task

from .outbox import outbox_relay_once


@shared_task(acks_late=True, max_retries=3, soft_time_limit=240, time_limit=300)
def outbox_relay(limit: int = 200) -> int:
    """Deliver due outbox rows until none is left (bounded by `limit` per batch, 20 batches)."""
    total = 0
    for _ in range(20):
        delivered = outbox_relay_once(limit=limit)
        total += delivered
        if delivered < limit:
            break
    return total
