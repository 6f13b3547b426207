"""The end-of-assignment reminders, a set-based job (see `assignments.sweeps` for how a sweep works in
batches): each assignment gets its 14-day and 1-day reminder email once; the `reminded_*` columns are
this job's bookkeeping, never part of an assignment's state."""

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from assignments.models import Assignment
from assignments.sweeps import SweepResult, until_empty

from .email import email_enqueue_many
from .events import reminder_items
from .recipients import Resolver

REMINDERS = {14: "reminded_14d_at", 1: "reminded_1d_at"}


def assignments_remind_batch(*, days: int, now: datetime, batch_size: int = 1000) -> int:
    """Mark and notify one batch of assignments ending within `days` (14 or 1) that have not had that
    reminder. The 14-day window excludes those ending within a day (they get the 1-day reminder,
    which also marks the 14-day one). Activations (hours long) get no reminders."""
    column = REMINDERS[days]
    qs = Assignment.objects.filter(status=Assignment.Status.LIVE, activated_from__isnull=True, end_at__gt=now,
                                   end_at__lte=now + timedelta(days=days), **{f"{column}__isnull": True})
    if days == 14:
        qs = qs.filter(end_at__gt=now + timedelta(days=1))
    with transaction.atomic():
        due = list(qs.select_for_update(skip_locked=True, of=("self",))
                   .select_related("principal", "role", "scope").order_by("end_at", "pk")[:batch_size])
        if not due:
            return 0
        marks = {column: now}
        if days == 1:
            marks["reminded_14d_at"] = Coalesce(F("reminded_14d_at"), now)
        Assignment.objects.filter(pk__in=[a.pk for a in due], **{f"{column}__isnull": True}).update(**marks)
        resolver = Resolver(now)
        resolver.prefetch_assignees({a.principal_id for a in due})
        email_enqueue_many(reminder_items(due, days=days, now=now, resolver=resolver))
        return len(due)


def assignments_remind(*, now: datetime | None = None, batch_size: int = 1000) -> SweepResult:
    now = now or timezone.now()
    total = SweepResult()
    for days in (1, 14):
        part = until_empty(lambda n, d=days: assignments_remind_batch(days=d, now=now, batch_size=n),
                            batch_size=batch_size, max_batches=None, deadline=None)
        total.processed += part.processed
        total.batches += part.batches
        total.extra[f"{days}d"] = part.processed
    return total
