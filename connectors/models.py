"""Connectors: what a role at a scope means in a real system, and every grant and revoke sent there.

A `Target` is one configured connection (an LDAP directory, a PostgreSQL server); a `Mapping` says that
holding a role at a scope (PIM for Groups: the Member role at a group's scope) means one grant in that
target (an LDAP group, a PostgreSQL role). Each transition of an assignment that a mapping covers writes
one `Effect` and one outbox row (channel "connector") in the transition's transaction; the relay applies it
and records when it became effective. Reconciliation reads the target back and records `Drift`.
Writes go through `connectors.services`; effects through `connectors.effects`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Target(models.Model):
    """A configured connection to one target system.

    Invariants: `kind` names a registered connector type (`connectors.kinds.KINDS`); `config` holds only
    that type's non-secret settings, validated by the type on save; `secret_sealed` is its credential
    (bind password, connection password) sealed with `core.crypto`, never shown again. Only enabled
    targets get new effects. `status`/`status_message` are the last Test connection or delivery outcome.
    """

    class Status(models.TextChoices):
        UNKNOWN = "unknown", "Not tested"
        OK = "ok", "Connected"
        ERROR = "error", "Error"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=20)
    config = models.JSONField(default=dict)
    secret_sealed = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    status_message = models.TextField(blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_sealed)


class Mapping(models.Model):
    """Holding `role` at `scope` (as the access check decides it: at the scope or above, directly or
    through a group) means holding `grant` in `target`.

    Invariants: one mapping per (target, role, scope, grant); `grant` was validated by the target's type
    (an LDAP group DN, a PostgreSQL role name) and `options` holds only that type's mapping options
    (PostgreSQL: `terminate_sessions`). Only enabled mappings queue effects and are reconciled.
    """

    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="mappings")
    role = models.ForeignKey("assignments.RoleDefinition", on_delete=models.PROTECT, related_name="+")
    scope = models.ForeignKey("assignments.Scope", on_delete=models.PROTECT, related_name="+")
    grant = models.CharField(max_length=500)
    options = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["target", "role", "scope", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["target", "role", "scope", "grant"], name="connector_mapping_once"),
        ]
        indexes = [models.Index(fields=["role", "enabled"], name="connector_mapping_role_idx")]

    def __str__(self) -> str:
        return f"{self.role} at {self.scope} → {self.grant} in {self.target}"


class Effect(models.Model):
    """One grant or revoke of one mapping for one user, caused by one transition of one assignment —
    or, in a webhook target (action "event"), one signed delivery of one event.

    Invariants: one row per (mapping, principal, assignment, action, transition), so a transition
    queues its effect once; `request` is the PIM request that caused it (the outbox row's correlation),
    null for expiry. Status moves queued → done | skipped | failed, written by the connector channel's
    deliverer conditionally on the outbox claim; `applied_at` is when the target confirmed it; `detail`
    what the last attempt did (added, already a member, skipped because still held through …).
    An event delivery has no mapping and no principal: `transition` is the occurrence's key (one row
    per target and key), `event` its name, `body` the JSON fixed when it happened (signed anew at each
    attempt), `delivery_id` the X-PIM-Delivery header (the same on every retry), `last_status_code`
    the receiver's last answer.
    `grant` is empty for an effect on the mapping's grant (read at delivery, so a grant queued before
    an edit of the mapping applies the edited one); it names the grant a mapping had before an edit on
    the revoke that edit queued for it (`applied_grant` is what the target is told either way).
    """

    class Action(models.TextChoices):
        GRANT = "grant", "Grant"
        REVOKE = "revoke", "Revoke"
        EVENT = "event", "Event delivery"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Not needed"
        FAILED = "failed", "Failed"

    mapping = models.ForeignKey(Mapping, null=True, blank=True, on_delete=models.CASCADE, related_name="effects")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="effects")
    principal = models.ForeignKey("assignments.Principal", null=True, blank=True, on_delete=models.CASCADE,
                                  related_name="+")
    assignment = models.ForeignKey("assignments.Assignment", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    request = models.ForeignKey("assignments.Request", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="connector_effects")
    action = models.CharField(max_length=10, choices=Action.choices)
    transition = models.CharField(max_length=200)
    grant = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    event = models.CharField(max_length=50, blank=True)
    body = models.TextField(blank=True)
    delivery_id = models.UUIDField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    queued_at = models.DateTimeField()
    not_before = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    first_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    detail = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    outbox_message = models.ForeignKey("notifications.OutboxMessage", null=True, blank=True,
                                       on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-queued_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "principal", "assignment", "action", "transition"],
                                    name="connector_effect_once_per_transition"),
            models.UniqueConstraint(fields=["target", "transition"], condition=Q(action="event"),
                                    name="connector_event_once_per_target"),
        ]
        indexes = [
            models.Index(fields=["target", "-queued_at"], name="connector_effect_recent_idx"),
            models.Index(fields=["status", "first_error_at"], condition=Q(status="queued"),
                         name="connector_effect_queued_idx"),
        ]

    def __str__(self) -> str:
        if self.action == self.Action.EVENT:
            return f"{self.event} → {self.target} ({self.status})"
        return f"{self.get_action_display()} {self.applied_grant} for #{self.principal_id} ({self.status})"

    @property
    def applied_grant(self) -> str | None:
        return self.grant or (self.mapping.grant if self.mapping_id else None)  # None: an event delivery


class Drift(models.Model):
    """A difference between a target and PIM found by reconciliation, for one mapping and one account.

    Invariants: at most one open drift per (mapping, account, kind); `principal` is the PIM user the
    account belongs to (null when the target names an account PIM does not know). A drift is resolved by
    a fix (revoke in the target, adopt into PIM as eligible, re-grant) or closed by a later reconciliation
    that no longer finds it.
    """

    class Kind(models.TextChoices):
        OUTSIDE = "outside", "Granted in the target outside PIM"
        MISSING = "missing", "Missing in the target while PIM says active"
        LINGERING = "lingering", "Still present in the target after its end"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        FIXED = "fixed", "Fixed"
        CLEARED = "cleared", "Cleared (no longer found)"

    mapping = models.ForeignKey(Mapping, on_delete=models.CASCADE, related_name="drifts")
    target = models.ForeignKey(Target, on_delete=models.CASCADE, related_name="drifts")
    account = models.CharField(max_length=500)
    principal = models.ForeignKey("assignments.Principal", null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    resolution = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-first_seen_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["mapping", "account", "kind"], condition=Q(status="open"),
                                    name="connector_drift_one_open"),
        ]
        indexes = [models.Index(fields=["target", "status"], name="connector_drift_target_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.account} in {self.mapping_id}"
