"""The audit log: append-only, hash-chained, with signed checkpoints.

Every event is written by `audit.services.audit_event_record` inside the transaction of the change it
records. Events are never updated or deleted through the application: the model and its QuerySet
refuse it, on PostgreSQL triggers refuse UPDATE, DELETE (migration 0002) and TRUNCATE (0004), and on
SQLite UPDATE and DELETE. `seq` is gap-free and `hash` chains each event to the previous one
(`prev_hash`), so any edit, deletion, insertion or reordering is detectable; signed `AuditCheckpoint`
rows make truncating the tail or rewriting the chain from some point on detectable too, and the
external witness (`audit.witness`) what the database alone cannot show: a cut-back to an older
checkpoint, or a rewrite after the newest. `manage.py audit_verify` checks all of it.
"""

import uuid

from django.db import models
from django.db.models import Q


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to update or delete an append-only audit row through the ORM."""


class AppendOnlyQuerySet(models.QuerySet):
    """Reads and inserts only. Bulk inserts are refused too: the only write path is the service,
    which keeps the chain."""

    def update(self, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: update refused")

    def delete(self):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: delete refused")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnlyError(f"{self.model.__name__} is append-only: bulk_update refused")

    def bulk_create(self, objs, *args, **kwargs):
        raise AppendOnlyError(f"{self.model.__name__} rows are written one by one by audit.services")

    delete.queryset_only = True


class AppendOnlyModel(models.Model):
    """Insert once (`save(force_insert=True)` on a new instance); never save again, never delete."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(f"{type(self).__name__} is append-only: update refused")
        kwargs["force_insert"] = True
        return super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(f"{type(self).__name__} is append-only: delete refused")


class AuditEvent(AppendOnlyModel):
    """One audited fact. Snapshot columns (`actor_label`, `role_label`, `scope_path`, …) keep the
    history readable after the objects they name change or disappear; the ids are not foreign keys
    so that nothing ever needs to update an event.

    Invariants: `seq` is contiguous from the purge anchor (1 without a purge); `prev_hash` is the
    previous event's `hash` (the anchor's hash for the first one); `hash` is
    sha256(prev_hash + "\\n" + canonical JSON of `audit.services.HASHED_FIELDS`)."""

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        DENIED = "denied", "Denied"
        FAILURE = "failure", "Failure"

    seq = models.BigIntegerField(unique=True)
    occurred_at = models.DateTimeField()  # indexed with seq (Meta.indexes)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_id = models.BigIntegerField(null=True, blank=True)
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
    correlation_id = models.UUIDField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-seq"]
        indexes = [
            models.Index(fields=["occurred_at", "seq"], name="audit_time_seq_idx"),
            # Partial: the jobs' events (no actor, no correlation) are most of the log and need neither.
            models.Index(fields=["actor_id"], condition=Q(actor_id__isnull=False), name="audit_actor_idx"),
            models.Index(fields=["correlation_id"], condition=Q(correlation_id__isnull=False),
                         name="audit_correlation_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} ({self.outcome})"


class AuditChainHead(models.Model):
    """Single row (pk=1): the last sequence number and hash. Each transaction locks it once, to append
    its events right before it commits (`audit.chain`), which keeps one unbroken chain under
    concurrent transactions. Created by migration 0002."""

    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default="0" * 64)

    def __str__(self) -> str:
        return f"chain head #{self.last_seq}"


class AuditCheckpoint(AppendOnlyModel):
    """A signed statement "the chain had reached `last_seq` with hash `last_hash`".

    Invariants: `signature` = HMAC-SHA256(PIM_AUDIT_SIGNING_KEY, `signed_payload`), and
    `prev_signature` is the previous checkpoint's signature (by id), so checkpoints form their own
    chain that nobody without the key can rewrite. A PURGE checkpoint is the anchor left by
    `audit_purge`: events up to and including `last_seq` were deleted and `last_hash` is the hash
    of the last deleted one, which the first remaining event must link to. `key_id` names the key
    (a fingerprint, not the key) so that keys can be rotated."""

    class Kind(models.TextChoices):
        PERIODIC = "periodic", "Periodic"
        PURGE = "purge", "Purge anchor"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PERIODIC)
    last_seq = models.BigIntegerField()
    last_hash = models.CharField(max_length=64)
    prev_signature = models.CharField(max_length=64, blank=True)
    signature = models.CharField(max_length=64)
    key_id = models.CharField(max_length=16)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["last_seq", "id"], name="audit_checkpoint_seq_idx")]

    def __str__(self) -> str:
        return f"checkpoint {self.kind} #{self.last_seq}"


class AuditWitnessState(models.Model):
    """Single row (pk=1): how far `audit.witness` has written the external witness, and its last
    failure. Only bookkeeping for the writer (which checkpoints are still to be sent, when the sink
    started failing): what the witness vouches for lives in the sink, out of the database's reach.
    Writers claim the row with SELECT … FOR UPDATE SKIP LOCKED, so one writes at a time."""

    last_checkpoint_id = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)
    witnessed_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"witness at #{self.last_seq}"


def new_correlation_id() -> uuid.UUID:
    return uuid.uuid4()
