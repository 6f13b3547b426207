"""The request pipeline: every change to an assignment is a `Request`, evaluated against the policy,
possibly waiting for approval, then provisioned. Admin actions are provisioned at once; self
activations may wait for N approvals within the approval window.

The request record itself is `assignments.models.Request` (every assignment transition writes it, in
its own transaction, so it lives with the one writer of assignment state); this app adds the approval
decisions and the pipeline around it, and `Request` is importable from here too.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Coalesce

from assignments.models import ApprovalStage, Request

__all__ = ["ApprovalDecision", "ApprovalDelegation", "Request"]


class ApprovalDecision(models.Model):
    """One approver's decision on a request. One per approver per request (a constraint): a person
    decides a request once, so the stages of one request are decided by different people. A delegate's
    decision names whom it was made for (`on_behalf_of`), and counts as theirs: one decision per
    effective approver (`on_behalf_of`, else `approver`) per request, a second constraint. `stage` and
    `stage_position` say which stage it decided (none: a request without stages)."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        DENY = "deny", "Denied"

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField()
    stage = models.ForeignKey(ApprovalStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stage_position = models.PositiveSmallIntegerField(null=True, blank=True)
    on_behalf_of = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
                                     related_name="+")

    class Meta:
        ordering = ["decided_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "approver"], name="decision_one_per_approver"),
            models.UniqueConstraint(Coalesce("on_behalf_of", "approver"), "request",
                                    name="decision_one_per_effective_approver"),
        ]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.approver_id}"


class ApprovalDelegation(models.Model):
    """An approver's delegation of their approvals to another user for a date range (out of office).

    While `starts_at <= now < ends_at` and not revoked, `delegate` may decide what `delegator` may
    decide, as the delegator (`ApprovalDecision.on_behalf_of`); never a request of the delegate's own,
    and a delegate cannot pass it on (delegations do not chain). Written by
    `approvals.services.delegation_create` / `delegation_revoke` only, audited; a decision made through
    it locks the row (request first, then delegation), so a revocation racing a decision either lands
    before it (the decision is refused) or after it (the decision stands, made while it was valid).
    """

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_given")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                 related_name="delegations_received")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(name="delegation_ends_after_start", condition=Q(ends_at__gt=models.F("starts_at"))),
            models.CheckConstraint(name="delegation_not_to_oneself", condition=~Q(delegate=models.F("delegator"))),
        ]
        indexes = [models.Index(fields=["delegate", "ends_at"], condition=Q(revoked_at__isnull=True),
                                name="delegation_current_idx")]

    def __str__(self) -> str:
        return f"{self.delegator_id} → {self.delegate_id} ({self.starts_at:%Y-%m-%d} – {self.ends_at:%Y-%m-%d})"

    def is_current_at(self, at) -> bool:
        return self.revoked_at is None and self.starts_at <= at < self.ends_at
