"""Thin Celery tasks: evaluate the alerts on the beat schedule."""

from celery import shared_task

from core.actors import Actor

from .services import alerts_evaluate_all


@shared_task(name="alerts.tasks.alerts_evaluate", autoretry_for=(Exception,), retry_backoff=30, max_retries=3)
def alerts_evaluate() -> dict:
    """Evaluate every enabled alert; each alert in its own transaction, so a re-run is harmless."""
    results = alerts_evaluate_all(actor=Actor.system("alerts-evaluate"))
    return {r.key: {"findings": r.findings, "opened": r.opened, "cleared": r.cleared} for r in results}
