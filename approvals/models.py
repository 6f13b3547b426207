"""The request pipeline: every change to an assignment is a `Request`, evaluated against the policy,
possibly waiting for approval, then provisioned. Admin actions are provisioned at once; self
activations may wait for N approvals within the approval window.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class Request(models.Model):
    """One requested change. `id` is also the correlation id of every audit event it causes.

    Invariants: status moves only forward (pending → approved/denied/canceled/timed_out →
    provisioned/scheduled/failed); transitions are conditional updates on the current status.
    `assignment` is the assignment the request created or acted on.
    """

    class Action(models.TextChoices):
        ADMIN_ASSIGN = "admin_assign", "Assign"
        ADMIN_UPDATE = "admin_update", "Update"
        ADMIN_REMOVE = "admin_remove", "Remove"
        ADMIN_EXTEND = "admin_extend", "Extend"
        ADMIN_RENEW = "admin_renew", "Renew"
        ADMIN_MAKE_ACTIVE = "admin_make_active", "Make active"
        SELF_ACTIVATE = "self_activate", "Activate"
        SELF_DEACTIVATE = "self_deactivate", "Deactivate"
        SELF_EXTEND = "self_extend", "Extend"
        SELF_RENEW = "self_renew", "Renew"

    class Status(models.TextChoices):
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        DENIED = "denied", "Denied"
        CANCELED = "canceled", "Canceled"
        TIMED_OUT = "timed_out", "Timed out"
        SCHEDULED = "scheduled", "Scheduled"
        PROVISIONED = "provisioned", "Provisioned"
        FAILED = "failed", "Failed"

    OPEN_STATUSES = (Status.PENDING_APPROVAL, Status.APPROVED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    action = models.CharField(max_length=20, choices=Action.choices)
    status = models.CharField(max_length=20, choices=Status.choices)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="pim_requests"
    )
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="requests")
    role = models.ForeignKey("assignments.RoleDefinition", on_delete=models.PROTECT, related_name="requests")
    scope = models.ForeignKey("assignments.Scope", on_delete=models.PROTECT, related_name="requests")
    kind = models.CharField(max_length=10, blank=True, help_text="eligible or active, for admin actions")
    eligible_assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignment = models.ForeignKey(
        "assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    justification = models.TextField(blank=True)
    ticket_system = models.CharField(max_length=100, blank=True)
    ticket_number = models.CharField(max_length=100, blank=True)
    approvals_required = models.PositiveSmallIntegerField(default=0)
    approval_deadline = models.DateTimeField(null=True, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    status_message = models.TextField(blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    provisioned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open activation per eligible assignment: a double submit cannot queue two.
            models.UniqueConstraint(
                fields=["eligible_assignment", "action"],
                condition=Q(status__in=["pending_approval", "approved"]),
                name="request_one_open_per_eligible_assignment_action",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "approval_deadline"], name="request_pending_idx"),
            models.Index(fields=["requested_by", "created_at"], name="request_requester_idx"),
            models.Index(fields=["principal", "created_at"], name="request_principal_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.role} @ {self.scope} for {self.principal}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES


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
