"""Set-based background jobs over assignments, as services; the request sweeps (scheduled starts,
time-outs) are `approvals.sweeps`, the end-of-assignment reminders `notifications.reminders`.

Every sweep works in batches of at most `batch_size` rows. A batch is one transaction:
1. pick due rows with `SELECT … FOR UPDATE SKIP LOCKED LIMIT n` (PostgreSQL; SQLite serialises
   writers instead), so two beats or two workers running the same sweep take disjoint rows;
2. move them with one guarded `UPDATE … WHERE id IN (…) AND <still due>`;
3. audit each row and emit its domain event in the same transaction. The expiry sweep works on plain
   rows (`assignments.batches`), hands its subscribers the whole batch (`domain_events.emit_many`:
   emails, webhooks and SCIM), and appends its audit events with
   `audit.services.audit_events_record_many` (one chain lock, one COPY per batch, one event per
   assignment, hashed exactly like single events).
Memory is bounded by the batch size; a sweep that is interrupted leaves committed batches done and
the rest for the next run. Nothing here decides access: the access check reads `start_at`/`end_at`
and never waited for these jobs.
"""

import time
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from audit.services import audit_events_record_many
from core import domain_events
from core.actors import Actor

from .batches import PRINCIPAL_COLUMNS, AssignmentBatch, AssignmentRow, PrincipalRow
from .models import Assignment

DEFAULT_BATCH = 2000
EXPIRY_SWEEP = Actor.system("expiry-sweep")


@dataclass
class SweepResult:
    processed: int = 0
    batches: int = 0
    seconds: float = 0.0
    extra: dict = field(default_factory=dict)


def until_empty(batch, *, batch_size: int, max_batches: int | None, deadline: float | None) -> SweepResult:
    """Run `batch(batch_size)` until it comes back short (nothing left), `max_batches` or the deadline."""
    result = SweepResult()
    started = time.monotonic()
    while max_batches is None or result.batches < max_batches:
        done = batch(batch_size)
        result.batches += 1
        result.processed += done
        if done < batch_size or (deadline is not None and time.monotonic() - started > deadline):
            break
    result.seconds = time.monotonic() - started
    return result


# --- expiry -----------------------------------------------------------------------------------------


def assignments_expire_batch(*, now: datetime, batch_size: int = DEFAULT_BATCH) -> int:
    """Expire one batch of live assignments whose end has passed. Returns how many this call expired.

    Works on plain rows (`assignments.batches`), not models: per batch, one locked read (with the
    principals' columns), one guarded update, the domain event handed to the subscribers as a set,
    and one COPY of audit events."""
    with transaction.atomic():
        due = (Assignment.objects.select_for_update(skip_locked=True, of=("self",))
               .filter(status=Assignment.Status.LIVE, end_at__lte=now).order_by("end_at", "pk")
               .values_list(*_EXPIRY_COLUMNS, *_PRINCIPAL_COLUMNS)[:batch_size])
        rows, principals = [], {}
        for (pk, principal_id, role_id, scope_id, kind, activated_from_id, start_at, end_at, justification,
             ticket_system, ticket_number, *principal) in _plain_rows(due):
            rows.append(AssignmentRow(pk, principal_id, role_id, scope_id, kind, Assignment.Status.ENDED,
                                      Assignment.EndReason.EXPIRED, activated_from_id, start_at, end_at, end_at,
                                      justification, ticket_system, ticket_number))
            principals[principal_id] = PrincipalRow(principal_id, *principal)
        if not rows:
            return 0
        ids = [row.pk for row in rows]
        changed = _end_expired(ids=ids, now=now)
        if changed != len(rows):  # cannot happen while we hold the row locks; be safe on other backends
            still = set(Assignment.objects.filter(pk__in=ids, status=Assignment.Status.ENDED,
                                                  end_reason=Assignment.EndReason.EXPIRED)
                        .values_list("pk", flat=True))
            rows = [row for row in rows if row.pk in still]
        batch = AssignmentBatch.load(at=now, rows=rows, principals=principals)
        domain_events.emit_many("assignment.expired", batch)
        # Appended at commit (one chain lock, one COPY), like every audit event of the transaction.
        target_type = Assignment._meta.label_lower
        audit_events_record_many([
            {"action": "assignment.expire", "actor": EXPIRY_SWEEP, "target_type": target_type, "target_id": str(row.pk),
             "target_label": batch.label(row), "principal_id": row.principal_id,
             "principal_label": principals[row.principal_id].display_name, "role_id": row.role_id,
             "role_label": batch.roles[row.role_id].name, "scope": batch.scopes[row.scope_id].path,
             "after": {"end_at": row.end_at}, "occurred_at": now}
            for row in rows
        ])
        return len(rows)


_EXPIRY_COLUMNS = ("pk", "principal_id", "role_id", "scope_id", "kind", "activated_from_id", "start_at", "end_at",
                   "justification", "ticket_system", "ticket_number")
_PRINCIPAL_COLUMNS = tuple(f"principal__{name}" for name in PRINCIPAL_COLUMNS)


def _plain_rows(queryset) -> list[tuple]:
    """The tuples of a `values_list` queryset. On PostgreSQL they are read with psycopg's own
    loaders: Django registers a pure-Python timestamptz loader on its connections (to pin the time
    zone), which costs more per batch than the query. The session time zone is UTC (Django sets it),
    so psycopg's C loader gives the same aware UTC datetimes."""
    if connection.vendor != "postgresql":
        return list(queryset)
    from psycopg.types.datetime import TimestamptzLoader

    sql, params = queryset.query.get_compiler(connection=connection).as_sql()
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        cursor.adapters.register_loader("timestamptz", TimestamptzLoader)  # this cursor only
        cursor.execute(sql, params)
        return cursor.fetchall()


def _end_expired(*, ids: list[int], now: datetime) -> int:
    """The guarded update: only rows still live and due change (a concurrent remove or deactivate
    already won the others). On PostgreSQL the ids travel as one array parameter: 2,000 separate
    parameters cost more to send than the update itself."""
    ended = {"status": Assignment.Status.ENDED, "end_reason": Assignment.EndReason.EXPIRED}
    if connection.vendor != "postgresql":
        return Assignment.objects.filter(pk__in=ids, status=Assignment.Status.LIVE, end_at__lte=now).update(
            ended_at=F("end_at"), **ended)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Assignment._meta.db_table} SET status = %s, end_reason = %s, ended_at = end_at "  # noqa: S608
                       f"WHERE id = ANY(%s) AND status = %s AND end_at <= %s",
                       [ended["status"], ended["end_reason"], ids, Assignment.Status.LIVE, now])
        return cursor.rowcount


def assignments_expire(*, now: datetime | None = None, batch_size: int = DEFAULT_BATCH,
                       max_batches: int | None = None, deadline_seconds: float | None = None) -> SweepResult:
    """Expire everything that has ended, batch by batch (each batch its own transaction), in the
    caller's thread.

    Several of these may run at once: they take disjoint rows (SKIP LOCKED) and queue only for the
    audit chain head, which each batch locks last. That is how a backlog is shared out: the beat's
    task starts `PIM_SWEEP_WORKERS - 1` more on the worker pool (`assignments.tasks`), processes
    rather than threads, because most of a batch's time is Python, which threads would run on one
    core at a time."""
    now = now or timezone.now()
    return until_empty(lambda n: assignments_expire_batch(now=now, batch_size=n), batch_size=batch_size,
                        max_batches=max_batches, deadline=deadline_seconds)
