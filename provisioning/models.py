"""Push integrations: signed webhooks. (SCIM provisioning of group memberships is a connector kind:
`connectors.kinds.scim`.)

Every call to the outside is an outbox row (`notifications.outbox`), written in the transaction of the
change that caused it; the rows here record what the people running the portal need to see about
those calls (status, attempts, last error) and the configuration they made.
"""

import uuid

from django.conf import settings
from django.db import models


class WebhookEndpoint(models.Model):
    """A receiver of signed event notifications.

    Invariants: `secret_sealed` holds the signing secret encrypted at rest (`core.crypto`);
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
