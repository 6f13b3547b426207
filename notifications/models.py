"""The transactional outbox: every email, webhook call and SCIM operation is first a row here,
written in the same transaction as the change that caused it. The relay delivers rows later."""

from django.db import models
from django.db.models import Q


class OutboxMessage(models.Model):
    """One side effect to deliver once.

    Invariants: (channel, dedupe_key) is unique, so enqueueing the same effect twice keeps one row.
    A relay *claims* a pending row by moving `available_at` forward (a lease) with a conditional
    update; delivery then marks it delivered with another conditional update. A worker that dies
    mid-delivery leaves the row pending, and it is retried when the lease runs out.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    class Priority(models.IntegerChoices):
        # Someone waits on it: an approval request, an enrolment code, a password reset link, a
        # security alert. Relays claim these before anything informational, so a sweep's backlog of
        # "expired" notices never delays them.
        ACTIONABLE = 0, "Actionable"
        INFORMATIONAL = 1, "Informational"

    channel = models.CharField(max_length=32)
    dedupe_key = models.CharField(max_length=255)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=8)
    available_at = models.DateTimeField()
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # What caused it, for status pages and request timelines.
    correlation_id = models.UUIDField(null=True, blank=True)
    # Lower is sooner (`Priority`); the database default lets bulk writers (COPY) leave it out.
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.INFORMATIONAL,
                                                db_default=Priority.INFORMATIONAL)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "dedupe_key"], name="outbox_unique_effect")]
        indexes = [
            # The relay's claim: due rows, actionable first (`priority`, then `available_at`).
            models.Index(fields=["priority", "available_at"], condition=Q(status="pending"),
                         name="outbox_due_priority_idx"),
            # Operators look for what failed; pending rows have `outbox_due_idx` and delivered ones need
            # no index. Partial, so the sweeps' 100,000s of inserts and every delivery skip it.
            models.Index(fields=["channel", "created_at"], condition=Q(status="failed"), name="outbox_failed_idx"),
            # Partial: the sweeps' mail (no correlation) is most of the outbox.
            models.Index(fields=["correlation_id"], condition=Q(correlation_id__isnull=False),
                         name="outbox_correlation_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel}:{self.dedupe_key} ({self.status})"
