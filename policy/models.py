"""Policy as code: the version history of the portal's configuration, dual control, proposals.

What is versioned is named by a registered kind (`policy.registry`): a role setting, a connector mapping,
an alert's thresholds, dual control itself. The rows here are written by `policy.services` only, and the
versions by the handler the owners' services call inside their own transactions (`core.config_changes`).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class ConfigVersion(models.Model):
    """One state of one configuration item, numbered from 1 per (kind, key).

    Invariants: `data` is the item's whole snapshot as its kind's `snapshot` returns it (null: the item
    does not exist); `diff` is the kind's diff from the previous version (empty for the first); a version
    is never changed or deleted. Number 1 may be the `baseline`: the item as it was before the first change
    the history saw (written by no one it knows of). A rollback is a new version whose `rolled_back_to` is
    the version whose data it restored.
    """

    class Source(models.TextChoices):
        BASELINE = "baseline", "As found before the first recorded change"
        CHANGE = "change", "Change"
        ROLLBACK = "rollback", "Rollback"
        PROPOSAL = "proposal", "Approved proposal"
        IMPORT = "import", "Import"

    kind = models.CharField(max_length=40)
    key = models.CharField(max_length=700)
    number = models.PositiveIntegerField()
    data = models.JSONField(null=True)
    diff = models.JSONField(default=list)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CHANGE)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    actor_label = models.CharField(max_length=200, blank=True)
    proposal = models.ForeignKey("Proposal", null=True, blank=True, on_delete=models.SET_NULL, related_name="versions")
    rolled_back_to = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["kind", "key", "-number"]
        constraints = [models.UniqueConstraint(fields=["kind", "key", "number"], name="config_version_once")]
        indexes = [models.Index(fields=["-created_at"], name="config_version_recent_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} v{self.number}"


class DualControl(models.Model):
    """Dual control is on at `scope` and below: a change of a versioned item there applies only as an
    approved proposal. A row is the "on" state; turning it off is itself a proposal (kind `dual_control`).
    """

    scope = models.OneToOneField("assignments.Scope", on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"dual control at {self.scope_id}"


class Proposal(models.Model):
    """A change of one or more versioned items, waiting for a second administrator.

    Invariants: `changes` is a list of {kind, key, data} (data: the item's whole new snapshot, null to
    remove it) and `base` the snapshots they were proposed against, in the same order; a proposal leaves
    `pending` once (a guarded update), to `applied` (by someone other than its author: a constraint),
    `rejected` or `withdrawn` (by its author); applying re-checks that no item changed since `base`.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    title = models.CharField(max_length=300)
    reason = models.TextField()
    changes = models.JSONField()
    base = models.JSONField()
    scope_paths = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="proposal_never_applied_by_its_author",
                condition=~Q(status="applied") | (Q(decided_by__isnull=False) & ~Q(decided_by=F("created_by"))),
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="proposal_status_idx")]

    def __str__(self) -> str:
        return f"proposal {self.pk}: {self.title}"
