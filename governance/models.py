"""Governance: separation-of-duties conflict sets and their audited exceptions.

Writes go through `governance.services`; the checks through `governance.separation`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class ConflictSet(models.Model):
    """Roles nobody should combine at overlapping scopes (one scope at or below the other), e.g.
    "payments approver" and "payments submitter". Holding or being eligible for two roles of one set
    is a conflict. `mode` says what happens when a change would create one: refused, or allowed and
    flagged (an audit event, and the separation-of-duties alert until it is resolved).

    Invariants: at least two roles (checked by `conflict_set_save`); names are unique."""

    class Mode(models.TextChoices):
        REFUSE = "refuse", "Refuse"
        FLAG = "flag", "Flag"

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.REFUSE)
    enabled = models.BooleanField(default=True)
    roles = models.ManyToManyField("assignments.RoleDefinition", related_name="conflict_sets")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ConflictException(models.Model):
    """An accepted conflict: `principal` may combine the roles of `conflict_set` until `end_at`.
    Always with a justification and an end; revoking ends it early. Each grant and revocation is
    audited. A live exception (not revoked, end in the future) lifts the refusal and the alert."""

    conflict_set = models.ForeignKey(ConflictSet, on_delete=models.CASCADE, related_name="exceptions")
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="+")
    justification = models.TextField()
    end_at = models.DateTimeField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(name="conflict_exception_end_after_creation",
                                   condition=Q(end_at__gt=models.F("created_at"))),
            models.CheckConstraint(name="conflict_exception_has_justification", condition=~Q(justification="")),
        ]
        indexes = [models.Index(fields=["principal", "conflict_set"], name="conflict_exception_lookup_idx")]

    def __str__(self) -> str:
        return f"{self.principal} may combine {self.conflict_set} until {self.end_at:%Y-%m-%d}"

    def is_live_at(self, when) -> bool:
        return self.revoked_at is None and self.end_at > when


class RightsizingSetting(models.Model):
    """The thresholds of right-sizing (one row, `key="default"`; absent: the built-in defaults).
    `days`: the activation history read (eligibility unused that long, standing access that old);
    `factor`: how many times the longest recent use a maximum duration must be to be called too high;
    `min_samples`: how many activations a duration or a pairing needs before it says anything.
    Invariants: each within the bounds `governance.rightsizing.BOUNDS` names (checked by the service)."""

    key = models.CharField(max_length=20, unique=True, default="default")
    days = models.PositiveSmallIntegerField(default=30)
    factor = models.PositiveSmallIntegerField(default=2)
    min_samples = models.PositiveSmallIntegerField(default=3)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(name="rightsizing_setting_in_bounds", condition=Q(days__gte=1, days__lte=365,
                                                                                      factor__gte=2, factor__lte=24,
                                                                                      min_samples__gte=1,
                                                                                      min_samples__lte=1000)),
        ]

    def __str__(self) -> str:
        return f"Right-sizing: {self.days} days, ×{self.factor}, {self.min_samples} samples"
