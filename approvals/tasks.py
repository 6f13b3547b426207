"""Thin Celery tasks for the request sweeps in `approvals.sweeps`, bounded like `assignments.tasks`."""

from celery import shared_task

from assignments.tasks import BOUNDS

from . import sweeps


@shared_task(**BOUNDS)
def requests_start_scheduled() -> int:
    return sweeps.requests_start_scheduled().processed


@shared_task(**BOUNDS)
def requests_time_out() -> int:
    return sweeps.requests_time_out()


@shared_task(**BOUNDS)
def requests_remind_approvers() -> int:
    return sweeps.requests_remind_approvers()
