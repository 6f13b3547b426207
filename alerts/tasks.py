"""Thin Celery tasks: evaluate the alerts when the beat starts, then on the beat schedule."""

from celery import shared_task

from core.actors import Actor

from .services import alerts_evaluate_all


@shared_task(name="alerts.tasks.alerts_evaluate", autoretry_for=(Exception,), retry_backoff=30, max_retries=3)
def alerts_evaluate() -> dict:
    """Evaluate every enabled alert; each alert in its own transaction, so a re-run is harmless."""
    results = alerts_evaluate_all(actor=Actor.system("alerts-evaluate"))
    return {r.key: {"findings": r.findings, "opened": r.opened, "cleared": r.cleared} for r in results}


def alerts_evaluate_at_start_up(sender=None, **kwargs) -> None:
    """When the beat starts (`celery beat`, or embedded in a worker with `--beat`): queue one
    evaluation, so that the alerts page is current from the start rather than after the first hour.
    Connected to the beat's signals (once per schedule, however many workers), not the worker's."""
    alerts_evaluate.delay()
