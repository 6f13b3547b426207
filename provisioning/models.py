"""Push integrations: signed webhooks and SCIM provisioning of PIM for Groups memberships.

Every call to the outside is an outbox row (`notifications.outbox`), written in the transaction of the
change that caused it; the rows here record what the people running the portal need to see about
those calls (status, attempts, last error) and the configuration they made.
"""

import uuid

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    """A receiver of signed event notifications.

    Invariants: `secret_sealed` holds the signing secret encrypted at rest (`provisioning.crypto`);
    the plain secret is shown once, when generated. `event_types` is a list of names from
    `core.domain_events.EVENTS`. Only enabled endpoints get new deliveries.
    """

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list)
    enabled = models.BooleanField(default=True)
    secret_sealed = models.TextField(editable=False)
    secret_rotated_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["url", "pk"]
        indexes = [models.Index(fields=["enabled"], name="webhook_endpoint_enabled_idx")]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint. `id` is the `X-PIM-Delivery` header.

    Invariants: one row per (endpoint, event_key) — an event is delivered to an endpoint once;
    `body` is fixed when the event happens (the signature is computed over it at each attempt);
    status moves pending → delivered | failed and is written by the webhook channel's deliverer.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=50)
    event_key = models.CharField(max_length=200)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    correlation_id = models.UUIDField(null=True, blank=True)
    outbox_message = models.ForeignKey(
        "notifications.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event_key"], name="webhook_delivery_once_per_event"),
        ]
        indexes = [models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_recent_idx")]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint_id} ({self.status})"


class ScimApplication(models.Model):
    """A SCIM 2.0 service provider that mirrors the membership of one PIM group.

    Invariants: `group` is a group principal; `token_sealed` is the bearer token encrypted at rest
    (never shown again after it is saved; empty means no authentication). Only enabled applications
    get new operations.
    """

    group = models.ForeignKey(
        "assignments.Principal", on_delete=models.CASCADE, related_name="scim_applications",
        limit_choices_to={"kind": "group"},
    )
    name = models.CharField(max_length=200)
    base_url = models.URLField(max_length=500)
    token_sealed = models.TextField(blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["group", "base_url"], name="scim_application_unique_per_group"),
        ]
        indexes = [models.Index(fields=["group", "enabled"], name="scim_application_group_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def has_token(self) -> bool:
        return bool(self.token_sealed)


class ScimOperation(models.Model):
    """One membership change to push to one application: add (create the user and the group there
    if missing, then add the member) or remove (remove the member).

    Invariants: one row per (application, assignment, action); `request` is the PIM request that
    caused it (its id is the outbox row's correlation id), null for expiry. Status moves
    pending → done | failed and is written by the SCIM channel's deliverer; `detail` says what the
    last attempt did (created the user, already a member, skipped because …).
    """

    class Action(models.TextChoices):
        ADD = "add", "Add member"
        REMOVE = "remove", "Remove member"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    application = models.ForeignKey(ScimApplication, on_delete=models.CASCADE, related_name="operations")
    assignment = models.ForeignKey("assignments.Assignment", on_delete=models.CASCADE, related_name="+")
    principal = models.ForeignKey("assignments.Principal", on_delete=models.CASCADE, related_name="+")
    request = models.ForeignKey(
        "assignments.Request", null=True, blank=True, on_delete=models.SET_NULL, related_name="scim_operations"
    )
    action = models.CharField(max_length=10, choices=Action.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    not_before = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    detail = models.CharField(max_length=300, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    outbox_message = models.ForeignKey(
        "notifications.OutboxMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["application", "assignment", "action"], name="scim_operation_once"),
        ]
        indexes = [
            models.Index(fields=["application", "-created_at"], name="scim_operation_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} #{self.assignment_id} in {self.application_id} ({self.status})"
