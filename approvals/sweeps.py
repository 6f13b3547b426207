"""Set-based background jobs over requests, as services (see `assignments.sweeps` for how a sweep
works in batches): scheduled starts and approval time-outs."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assignments.models import Assignment
from assignments.sweeps import SweepResult, until_empty
from audit.services import audit_event_record
from core import domain_events
from core.actors import Actor

from .models import Request
from .services import request_expire_overdue, request_remind_approvers

SCHEDULED_START = Actor.system("scheduled-start")


# --- scheduled starts -------------------------------------------------------------------------------


def requests_start_scheduled_batch(*, now: datetime, batch_size: int = 500) -> int:
    """Scheduled requests whose start has come → provisioned; audited, and their event emitted
    (`assignment.activated` for activations, `assignment.created` otherwise). Access never depended
    on it: the assignment row already exists with its `start_at`."""
    with transaction.atomic():
        due = list(
            Request.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("principal", "role", "scope", "assignment", "requested_by")
            .filter(status=Request.Status.SCHEDULED, start_at__lte=now)
            .order_by("start_at")[:batch_size]
        )
        if not due:
            return 0
        Request.objects.filter(pk__in=[r.pk for r in due], status=Request.Status.SCHEDULED).update(
            status=Request.Status.PROVISIONED, provisioned_at=now, updated_at=now)
        for request in due:
            request.status, request.provisioned_at = Request.Status.PROVISIONED, now
            assignment = request.assignment
            audit_event_record(action="request.start", actor=SCHEDULED_START, target=assignment,
                               principal=request.principal, role=request.role, scope=request.scope,
                               correlation_id=request.pk,
                               message="The scheduled start has come.", occurred_at=now)
            if assignment is None or assignment.status != Assignment.Status.LIVE:
                continue
            name = "assignment.activated" if assignment.activated_from_id else "assignment.created"
            domain_events.emit(name, assignment=assignment, request=request, actor=None)
        return len(due)


def requests_start_scheduled(*, now: datetime | None = None, batch_size: int = 500,
                             max_batches: int | None = None) -> SweepResult:
    now = now or timezone.now()
    return until_empty(lambda n: requests_start_scheduled_batch(now=now, batch_size=n), batch_size=batch_size,
                        max_batches=max_batches, deadline=None)


# --- request time-outs -----------------------------------------------------------------------------


def requests_time_out(*, now: datetime | None = None) -> int:
    """Time out requests past their approval window (`request_expire_overdue` owns the state machine)."""
    return request_expire_overdue(now=now)


# --- reminders to approvers --------------------------------------------------------------------------


def requests_remind_approvers(*, now: datetime | None = None) -> int:
    """Remind undecided approvers on their stage's cadence (`request_remind_approvers` owns the claim)."""
    return request_remind_approvers(now=now)
