"""Access reviews: a definition (what to review, who reviews, how often), its instances (one per
occurrence) and the items of an instance (one per assignment snapshotted when the instance started).

Writes go through `reviews.services`; reads through `reviews.selectors`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class AccessReview(models.Model):
    """A review definition for one role at one scope (selecting several roles makes one per role).

    Invariants: `duration_days` fits inside the recurrence interval (checked by `review_create`), so an
    instance ends at or before the next one starts; `end_date` is set iff `end_type=on_date`;
    `occurrences` is set iff `end_type=after_count`. `fallback_reviewers` review the items nobody else
    can (a group or service principal under self-review, a group without other owners).
    """

    class AssignmentKinds(models.TextChoices):
        ELIGIBLE = "eligible", "Eligible assignments"
        ACTIVE = "active", "Active assignments"
        BOTH = "both", "Eligible and active assignments"

    class ReviewerType(models.TextChoices):
        NAMED = "named", "Named users or groups"
        SELF = "self", "Self-review (each holder reviews their own access)"
        GROUP_OWNERS = "group_owners", "The group's owners"

    class Recurrence(models.TextChoices):
        ONE_TIME = "one_time", "One time"
        WEEKLY = "weekly", "Weekly"
        MONTHLY = "monthly", "Monthly"
        QUARTERLY = "quarterly", "Quarterly"
        SEMI_ANNUALLY = "semi_annually", "Semi-annually"
        ANNUALLY = "annually", "Annually"

    class EndType(models.TextChoices):
        NEVER = "never", "Never"
        ON_DATE = "on_date", "On a date"
        AFTER_COUNT = "after_count", "After a number of occurrences"

    class DefaultDecision(models.TextChoices):
        NO_CHANGE = "no_change", "No change"
        REMOVE = "remove", "Remove access"
        APPROVE = "approve", "Approve access"
        RECOMMENDATION = "recommendation", "Take the recommendations"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    role = models.ForeignKey("assignments.RoleDefinition", on_delete=models.PROTECT, related_name="access_reviews")
    scope = models.ForeignKey("assignments.Scope", on_delete=models.PROTECT, related_name="access_reviews")
    assignment_kinds = models.CharField(max_length=10, choices=AssignmentKinds.choices, default=AssignmentKinds.BOTH)
    include_users = models.BooleanField(default=True)
    include_groups = models.BooleanField(default=True)
    include_service_principals = models.BooleanField(default=True)
    inactive_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Only assignments with no activation of the role in this many days.")
    reviewer_type = models.CharField(max_length=20, choices=ReviewerType.choices, default=ReviewerType.NAMED)
    reviewers = models.ManyToManyField("assignments.Principal", blank=True, related_name="reviewer_of")
    fallback_reviewers = models.ManyToManyField("assignments.Principal", blank=True,
                                                related_name="fallback_reviewer_of")
    start_date = models.DateField()
    time_zone = models.CharField(max_length=64, default="UTC",
                                 help_text="The zone the start date is read in: each occurrence starts at its "
                                           "midnight there (the creator's zone).")
    duration_days = models.PositiveIntegerField()
    recurrence = models.CharField(max_length=20, choices=Recurrence.choices, default=Recurrence.ONE_TIME)
    end_type = models.CharField(max_length=20, choices=EndType.choices, default=EndType.NEVER)
    end_date = models.DateField(null=True, blank=True)
    occurrences = models.PositiveIntegerField(null=True, blank=True)
    show_recommendations = models.BooleanField(default=True)
    require_reason_on_approve = models.BooleanField(default=False)
    auto_apply = models.BooleanField(default=False)
    default_decision = models.CharField(max_length=20, choices=DefaultDecision.choices,
                                        default=DefaultDecision.NO_CHANGE)
    send_reminders = models.BooleanField(default=True)
    notify_on_completion = models.ManyToManyField("assignments.Principal", blank=True,
                                                  related_name="notified_of_reviews")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(name="review_duration_positive", condition=Q(duration_days__gte=1)),
            models.CheckConstraint(name="review_end_date_iff_on_date",
                                   condition=Q(end_type="on_date", end_date__isnull=False)
                                   | (~Q(end_type="on_date") & Q(end_date__isnull=True))),
            models.CheckConstraint(name="review_occurrences_iff_after_count",
                                   condition=Q(end_type="after_count", occurrences__gte=1)
                                   | (~Q(end_type="after_count") & Q(occurrences__isnull=True))),
        ]

    def __str__(self) -> str:
        return self.name


class AccessReviewInstance(models.Model):
    """One occurrence of a review, from `start_at` to `end_at`.

    Invariants: status moves only forward, not_started → in_progress → completed → applying → applied,
    each step a conditional update on the current status. (review, sequence) is unique. Items exist
    only from the start on (the snapshot); decisions are taken only while in progress and before
    `end_at`.
    """

    class Status(models.TextChoices):
        NOT_STARTED = "not_started", "Not started"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        APPLYING = "applying", "Applying"
        APPLIED = "applied", "Applied"

    review = models.ForeignKey(AccessReview, on_delete=models.CASCADE, related_name="instances")
    sequence = models.PositiveIntegerField()
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NOT_STARTED)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    item_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-start_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["review", "sequence"], name="review_instance_unique_sequence"),
            models.CheckConstraint(name="review_instance_end_after_start",
                                   condition=Q(end_at__gt=models.F("start_at"))),
        ]
        indexes = [models.Index(fields=["status", "start_at"], name="review_instance_due_idx"),
                   models.Index(fields=["status", "end_at"], name="review_instance_end_idx")]

    def __str__(self) -> str:
        return f"{self.review} #{self.sequence}"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.IN_PROGRESS


class AccessReviewItem(models.Model):
    """One assignment under review in one instance, with its decision and what applying did.

    The principal, role, scope and kind are copied from the assignment at the snapshot, so the record
    stays readable after the assignment ends. `needs_fallback` marks items only the fallback reviewers
    can decide. `apply_state` moves once from pending to a final state by a conditional update: that
    guard is what makes applying exactly-once.
    """

    class Decision(models.TextChoices):
        NONE = "", "Not reviewed"
        APPROVE = "approve", "Approve"
        DENY = "deny", "Deny"
        DONT_KNOW = "dont_know", "Don't know"

    class Source(models.TextChoices):
        NONE = "", "—"
        REVIEWER = "reviewer", "Reviewer"
        DEFAULT = "default", "Default for undecided items"

    class Recommendation(models.TextChoices):
        NONE = "", "—"
        APPROVE = "approve", "Approve"
        DENY = "deny", "Deny"

    class ApplyState(models.TextChoices):
        PENDING = "pending", "Pending"
        REMOVED = "removed", "Access removed"
        UNCHANGED = "unchanged", "No change"
        ALREADY_ENDED = "already_ended", "Already ended"
        REFUSED = "refused", "Removal refused"

    instance = models.ForeignKey(AccessReviewInstance, on_delete=models.CASCADE, related_name="items")
    assignment = models.ForeignKey("assignments.Assignment", null=True, on_delete=models.SET_NULL,
                                   related_name="review_items")
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="review_items")
    role = models.ForeignKey("assignments.RoleDefinition", on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey("assignments.Scope", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=10)
    assignment_start_at = models.DateTimeField()
    assignment_end_at = models.DateTimeField(null=True, blank=True)
    needs_fallback = models.BooleanField(default=False)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True, default="")
    decision_source = models.CharField(max_length=10, choices=Source.choices, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    # Frozen when the instance completes: the evidence the recommendation was based on.
    recommendation = models.CharField(max_length=10, choices=Recommendation.choices, blank=True, default="")
    last_activation_at = models.DateTimeField(null=True, blank=True)
    apply_state = models.CharField(max_length=15, choices=ApplyState.choices, default=ApplyState.PENDING)
    apply_message = models.TextField(blank=True, default="")
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["instance", "assignment"], name="review_item_one_per_assignment"),
        ]
        indexes = [
            models.Index(fields=["instance", "decision"], name="review_item_decision_idx"),
            models.Index(fields=["instance", "principal"], name="review_item_principal_idx"),
            models.Index(fields=["instance", "apply_state"], name="review_item_apply_idx"),
        ]

    def __str__(self) -> str:
        return f"Item {self.pk} of {self.instance_id}"
