"""Security alerts: per-alert settings, the incidents an evaluation finds, and the evaluation runs.

The alert catalogue (what each alert means, how it is evaluated) is code in `alerts.definitions`;
only its configurable part (enabled, thresholds) is stored here. Writes go through `alerts.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Severity(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


class AlertSetting(models.Model):
    """The configurable part of one alert of the catalogue: on/off and thresholds.

    Invariants: `key` names a definition of `alerts.definitions.CATALOGUE`; `thresholds` holds only
    that definition's threshold names (validated by `alert_setting_update`). A missing row means the
    defaults of the catalogue (DESIGN §3).
    """

    key = models.CharField(max_length=64, unique=True)
    enabled = models.BooleanField(default=True)
    thresholds = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    def __str__(self) -> str:
        return self.key


class Incident(models.Model):
    """What one alert found: one incident per alert, listing every item it affects (`items`).

    Invariants:
    - An evaluated alert has at most one current incident, `subject_key` "alert"; each of its
      `items` is one finding ({subject_key, title, detail, principal_id, principal, role_id, role,
      scope_id, scope, affected, data}) and `affected` is the union of the items' assignments. The
      foreign keys and `data` are the single item's when there is one, else what all items share.
      An event incident (an emergency account's sign-in) is one per event.
    - `is_current` is true while the condition is believed to hold (open, or dismissed and still
      true). At most one current incident per (alert_key, subject_key): a database constraint, so a
      re-evaluation never duplicates one. A dismissed incident stays quiet while the items it
      listed persist; an item it did not list opens a new incident.
    - `status` moves open → resolved / dismissed / cleared; dismissed → (is_current false) when
      the condition clears. Transitions are conditional updates on the current status.
    - Event incidents (an emergency account's sign-in) are never cleared by an evaluation.
    - `affected` lists the affected assignments as {assignment_id, principal, role, scope, kind,
      permanent} snapshots; the foreign keys name the primary subject.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"
        CLEARED = "cleared", "Cleared (condition no longer holds)"

    alert_key = models.CharField(max_length=64)
    subject_key = models.CharField(max_length=200)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    is_current = models.BooleanField(default=True)
    title = models.CharField(max_length=300)
    detail = models.TextField(blank=True)
    principal = models.ForeignKey(
        "assignments.Principal", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    role = models.ForeignKey(
        "assignments.RoleDefinition", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    scope = models.ForeignKey("assignments.Scope", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    affected = models.JSONField(default=list, blank=True)
    items = models.JSONField(default=list, blank=True)
    data = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-first_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["alert_key", "subject_key"],
                condition=Q(is_current=True),
                name="incident_one_current_per_alert_subject",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "severity"], name="incident_status_severity_idx"),
            models.Index(fields=["alert_key", "is_current"], name="incident_alert_current_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.alert_key}: {self.title} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def affects(self) -> int:
        """How many things it lists: its items, else its affected assignments, else its one subject."""
        return len(self.items) or len(self.affected) or 1


class AlertRun(models.Model):
    """One evaluation of one alert (scheduled or "Run now"): when, by whom, what changed."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", "Schedule"
        MANUAL = "manual", "Run now"
        FIX = "fix", "After a fix"

    alert_key = models.CharField(max_length=64)
    trigger = models.CharField(max_length=10, choices=Trigger.choices)
    ran_at = models.DateTimeField()
    ran_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    findings = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    cleared = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at", "-pk"]
        indexes = [models.Index(fields=["alert_key", "ran_at"], name="alert_run_key_time_idx")]

    def __str__(self) -> str:
        return f"{self.alert_key} at {self.ran_at}"
