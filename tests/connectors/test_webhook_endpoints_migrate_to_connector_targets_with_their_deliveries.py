"""The data migration turns each former webhook endpoint into a connector target of kind "webhook" (its
URL and events in the config, its signing secret moved sealed, byte for byte); each delivery becomes an
event effect with its delivery id, body, status, attempts and error; the outbox row a pending delivery
waits on moves to the "connector" channel in place (attempts and due time kept), and no pending row is
left on the retired "webhook" channel. Then the relay delivers it, signed with the same secret and
under the same delivery id, once."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from connectors.kinds.webhook import webhook_signature_verify
from core.crypto import seal, unseal
from tests.provisioning.conftest import Receiver

from .migrating import latest, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("connectors", "0002_scim_applications_become_connector_targets"),
          ("provisioning", "0003_scim_applications_move_to_connectors")]


@pytest.fixture
def receiver(settings):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = True
    r = Receiver()
    yield r
    r.stop()


def test_endpoints_become_targets_and_deliveries_effects(receiver):
    secret = "whsec_the-endpoint-signing-secret"
    sealed = seal(secret)
    pending_id, done_id, failed_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    leaves = latest()
    try:
        old = migrate_to(BEFORE)
        now = timezone.now()
        Endpoint = old.get_model("provisioning", "WebhookEndpoint")
        Delivery = old.get_model("provisioning", "WebhookDelivery")
        Outbox = old.get_model("notifications", "OutboxMessage")
        endpoint = Endpoint.objects.create(url=receiver.url, description="SIEM", event_types=["assignment.created"],
                                           enabled=True, secret_sealed=sealed, secret_rotated_at=now,
                                           created_at=now, updated_at=now)
        waiting = Outbox.objects.create(channel="webhook", dedupe_key=f"webhook:{endpoint.pk}:assignment.created:a1",
                                        payload={"delivery": str(pending_id)}, attempts=2,
                                        available_at=now - timedelta(seconds=5), created_at=now)
        Delivery.objects.create(id=pending_id, endpoint=endpoint, event="assignment.created",
                                event_key="assignment.created:a1", body='{"event":"assignment.created"}',
                                status="pending", attempts=2, last_status_code=503, last_error="HTTP 503",
                                created_at=now, outbox_message=waiting)
        Delivery.objects.create(id=done_id, endpoint=endpoint, event="assignment.created",
                                event_key="assignment.created:a2", body="{}", status="delivered", attempts=1,
                                last_status_code=200, delivered_at=now, created_at=now)
        Delivery.objects.create(id=failed_id, endpoint=endpoint, event="assignment.created",
                                event_key="assignment.created:a3", body="{}", status="failed", attempts=1,
                                last_status_code=410, last_error="HTTP 410 Gone: refused", created_at=now)
        orphan = Outbox.objects.create(channel="webhook", dedupe_key="webhook:999:x", payload={"delivery": "gone"},
                                       available_at=now, created_at=now)
    finally:
        migrate_to(leaves)

    from connectors.models import Effect, Target
    from notifications.models import OutboxMessage
    from notifications.outbox import outbox_relay_once

    target = Target.objects.get(kind="webhook")
    assert (target.name, target.config, target.enabled) == (
        "SIEM", {"url": receiver.url, "event_types": ["assignment.created"]}, True)
    assert target.secret_sealed == sealed and unseal(target.secret_sealed) == secret
    effects = {e.delivery_id: e for e in Effect.objects.filter(target=target)}
    assert {k: (e.action, e.status, e.attempts, e.last_status_code) for k, e in effects.items()} == {
        pending_id: ("event", "queued", 2, 503), done_id: ("event", "done", 1, 200),
        failed_id: ("event", "failed", 1, 410)}
    assert effects[failed_id].last_error == "HTTP 410 Gone: refused"
    assert effects[pending_id].transition == "assignment.created:a1"
    moved = OutboxMessage.objects.get(pk=waiting.pk)
    assert (moved.channel, moved.status, moved.attempts, moved.payload) == (
        "connector", "pending", 2, {"effect": effects[pending_id].pk})
    assert OutboxMessage.objects.get(pk=orphan.pk).status == "failed"
    assert not OutboxMessage.objects.filter(channel="webhook", status="pending").exists()

    outbox_relay_once()

    [hit] = receiver.received
    assert hit["headers"]["x-pim-delivery"] == str(pending_id)
    assert webhook_signature_verify(secret, hit["headers"]["x-pim-timestamp"], hit["body"],
                                    hit["headers"]["x-pim-signature"])
    effect = Effect.objects.get(delivery_id=pending_id)
    assert (effect.status, effect.attempts, effect.last_status_code) == ("done", 3, 200)
