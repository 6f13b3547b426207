"""Thin Celery tasks of the connectors: reconciliation on the beat (idempotent: each mapping's drift
is recorded in its own transaction, and a second run finds the same drift open)."""

from celery import shared_task
from django.db import DatabaseError

from core.actors import Actor

from .reconcile import connectors_reconcile


@shared_task(acks_late=True, max_retries=3, autoretry_for=(DatabaseError,), retry_backoff=True,
             soft_time_limit=840, time_limit=900, ignore_result=True)
def connectors_reconcile_all() -> dict:
    results = connectors_reconcile(actor=Actor.system("connectors-reconcile"))
    return {r.target: {"mappings": r.mappings, "holders": r.holders, "opened": r.opened, "cleared": r.cleared,
                       "errors": r.errors} for r in results}
