"""The audit log: append-only, hash-chained.

Every event is written by `audit.services.audit_event_record` inside the transaction of the change it
records. Events are never updated or deleted through the application; `seq` is gap-free and `hash`
chains each event to the previous one (`prev_hash`), so any edit, deletion, insertion or reordering
is detectable.
"""

import uuid

from django.db import models


class AuditEvent(models.Model):
    """One audited fact. Snapshot columns (`actor_label`, `role_label`, `scope_path`, …) keep the
    history readable after the objects they name change or disappear; the ids are not foreign keys
    so that nothing ever needs to update an event."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        FAILURE = "failure", "Failure"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    actor_label = models.CharField(max_length=200, blank=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=300, blank=True)
    principal_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    principal_label = models.CharField(max_length=200, blank=True)
    role_id = models.BigIntegerField(null=True, blank=True)
    role_label = models.CharField(max_length=200, blank=True)
    scope_path = models.CharField(max_length=512, blank=True, db_index=True)
    justification = models.TextField(blank=True)
    ticket = models.CharField(max_length=210, blank=True)
    message = models.TextField(blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    correlation_id = models.UUIDField(null=True, blank=True, db_index=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [models.Index(fields=["occurred_at", "seq"], name="audit_time_seq_idx")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} ({self.outcome})"


class AuditChainHead(models.Model):
    """Single row (pk=1): the last sequence number and hash. Writers lock it, which keeps one
    unbroken chain under concurrent transactions."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain head #{self.last_seq}"


def new_correlation_id() -> uuid.UUID:
    return uuid.uuid4()
