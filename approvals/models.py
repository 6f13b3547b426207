"""The request pipeline: every change to an assignment is a `Request`, evaluated against the policy,
possibly waiting for approval, then provisioned. Admin actions are provisioned at once; self
activations may wait for N approvals within the approval window.

The request record itself is `assignments.models.Request` (every assignment transition writes it, in
its own transaction, so it lives with the one writer of assignment state); this app adds the approval
decisions and the pipeline around it, and `Request` is importable from here too.
"""

from django.conf import settings
from django.db import models

from assignments.models import Request

__all__ = ["ApprovalDecision", "Request"]


class ApprovalDecision(models.Model):
    """One approver's decision on a request. One per approver per request (a constraint)."""

    class Decision(models.TextChoices):
        APPROVE = "approve", "Approved"
        DENY = "deny", "Denied"

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["decided_at"]
        constraints = [models.UniqueConstraint(fields=["request", "approver"], name="decision_one_per_approver")]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} by {self.approver_id}"
