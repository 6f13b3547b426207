"""Rules a role's policy adds to self activation, beyond the fields of `RoleSetting`:

- `RequestRules`: justification pattern and minimum length, ticket pattern and ticket endpoint, and
  whether break-glass self-approval is allowed (and how soon its post-hoc review is due);
- `AutoApprovalRule`: conditions under which an activation that needs approval is approved at once;
  `OnCallShift`: the on-call roster a rule may require, imported from an iCalendar file or URL;
- `RequestWaiver`: which rule (or break-glass) approved a request; `BreakGlassReview`: the mandatory
  post-hoc review of a break-glass activation;
- `RequestBatch` / `RequestBatchItem`: the eligibility requests of the request catalogue made in one
  go (one `Request` per item, each decided on its own, shown together).

They hang off the effective `RoleSetting` (one per role at a scope), so they follow its inheritance.
Writes go through `selfservice.services`.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class RequestRules(models.Model):
    """Justification, ticket and break-glass rules of one role setting. No row: no extra rules.

    Invariants: `justification_pattern` and `ticket_pattern` compile (the `regex` package, re syntax),
    are at most 300 characters, do not backtrack catastrophically on the probes of `checks`, and must
    match the whole value within the time limit (checked by `request_rules_update`); `ticket_endpoint_url` passes the
    outbound URL policy and contains `{ticket}`; `break_glass_review_hours` ≥ 1."""

    setting = models.OneToOneField("assignments.RoleSetting", on_delete=models.CASCADE, related_name="request_rules")
    justification_pattern = models.CharField(max_length=500, blank=True)
    justification_hint = models.CharField(max_length=300, blank=True,
                                          help_text="Shown under the justification field, and in the error.")
    justification_min_length = models.PositiveIntegerField(default=0)
    ticket_pattern = models.CharField(max_length=300, blank=True)
    ticket_hint = models.CharField(max_length=300, blank=True)
    ticket_endpoint_url = models.CharField(
        max_length=500, blank=True,
        help_text="GET {ticket} replaced by the ticket number: 2xx valid, 404 unknown, anything else an error.")
    allow_break_glass = models.BooleanField(default=False)
    break_glass_review_hours = models.PositiveIntegerField(default=24)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [models.CheckConstraint(name="request_rules_review_hours_positive",
                                              condition=Q(break_glass_review_hours__gte=1))]

    def __str__(self) -> str:
        return f"Request rules of {self.setting_id}"


class AutoApprovalRule(models.Model):
    """An activation that needs approval is approved at once when every condition the rule sets holds
    (unset conditions are not checked; a rule sets at least one): the requester is a member of `group`,
    is on call (`on_call`: a shift of `shifts` covers the activation's start), the activation starts in
    `time_windows` (read in `time_windows_zone`), the ticket number matches `ticket_pattern`, and the
    duration is at most `max_duration_minutes`. Rules are tried in `position` order; the first wins."""

    setting = models.ForeignKey("assignments.RoleSetting", on_delete=models.CASCADE,
                                related_name="auto_approval_rules")
    name = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    group = models.ForeignKey("assignments.Principal", null=True, blank=True, on_delete=models.PROTECT,
                              related_name="+", limit_choices_to={"kind": "group"})
    on_call = models.BooleanField(default=False)
    roster_url = models.CharField(max_length=500, blank=True)
    roster_zone = models.CharField(max_length=64, default="UTC",
                                   help_text="The zone floating times and all-day dates of the roster are read in.")
    roster_imported_at = models.DateTimeField(null=True, blank=True)
    # The last good copy of the roster (what the shifts were expanded from): a refresh that cannot fetch
    # the URL, or gets something that is not iCalendar, expands this again and records why (below).
    roster_content = models.TextField(blank=True)
    roster_checked_at = models.DateTimeField(null=True, blank=True,
                                             help_text="When the refresh job last fetched (or expanded) the roster.")
    roster_fetch_error = models.TextField(blank=True, help_text="Why the last fetch failed; empty: it worked.")
    time_windows = models.TextField(blank=True)
    time_windows_zone = models.CharField(max_length=64, default="UTC")
    ticket_pattern = models.CharField(max_length=300, blank=True)
    max_duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.name


class OnCallShift(models.Model):
    """One VEVENT of a rule's imported roster naming a user: on call from `start_at` until `end_at`."""

    rule = models.ForeignKey(AutoApprovalRule, on_delete=models.CASCADE, related_name="shifts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    summary = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["start_at"]
        indexes = [models.Index(fields=["rule", "user", "start_at"], name="oncall_rule_user_start_idx")]
        constraints = [models.CheckConstraint(name="oncall_shift_ends_after_start",
                                              condition=Q(end_at__gt=models.F("start_at")))]

    def __str__(self) -> str:
        return f"{self.user_id} on call {self.start_at}–{self.end_at}"


class RequestWaiver(models.Model):
    """Why a request was approved without approvers: an auto-approval rule (kept by name too, should the
    rule be deleted) or break-glass with its reason. One per request."""

    class Kind(models.TextChoices):
        AUTO_APPROVAL = "auto_approval", "Auto-approval rule"
        BREAK_GLASS = "break_glass", "Break-glass"

    request = models.OneToOneField("assignments.Request", on_delete=models.CASCADE, related_name="waiver")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    rule = models.ForeignKey(AutoApprovalRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    rule_name = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.request_id}"


class BreakGlassReview(models.Model):
    """The post-hoc review of one break-glass activation, opened with it and due `due_at`. The role's
    administrators (never the requester) complete it; the escalation job alerts once if it is still open
    when due (`escalated_at`). Transitions are conditional updates on `status` / `escalated_at`."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"

    class Outcome(models.TextChoices):
        JUSTIFIED = "justified", "Justified"
        UNJUSTIFIED = "unjustified", "Not justified (the activation is ended)"

    request = models.OneToOneField("assignments.Request", on_delete=models.CASCADE, related_name="break_glass_review")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    opened_at = models.DateTimeField()
    due_at = models.DateTimeField()
    escalated_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True)
    comment = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["due_at"], condition=Q(status="open", escalated_at__isnull=True),
                                name="breakglass_review_due_idx")]

    def __str__(self) -> str:
        return f"Break-glass review of {self.request_id} ({self.status})"


class RequestBatch(models.Model):
    """Several eligibility requests made in one form (one `Request` per item, in `items`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    justification = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Batch {self.pk} by {self.requested_by_id}"


class RequestBatchItem(models.Model):
    """One request of a batch, in the order it was asked."""

    batch = models.ForeignKey(RequestBatch, on_delete=models.CASCADE, related_name="items")
    request = models.OneToOneField("assignments.Request", on_delete=models.CASCADE, related_name="batch_item")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["batch", "position"]
        constraints = [models.UniqueConstraint(fields=["batch", "position"], name="batch_item_position_unique")]

    def __str__(self) -> str:
        return f"{self.batch_id} #{self.position}"
