"""Each delivery is a POST of the event's JSON with X-PIM-Event, X-PIM-Delivery, X-PIM-Timestamp and
an X-PIM-Signature a receiver verifies with the endpoint secret (webhook_signature_verify)."""

import json
import time

import pytest
from django.utils import timezone

from provisioning.models import WebhookDelivery
from provisioning.webhooks import webhook_signature, webhook_signature_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(global_admin, receiver):
    from provisioning.services import webhook_endpoint_create

    return webhook_endpoint_create(actor=global_admin, url=receiver.url, description="SIEM",
                                   event_types=["assignment.created", "assignment.removed"],
                                   mfa_verified_at=timezone.now())


def test_delivery_is_signed_with_the_endpoint_secret(directory, endpoint, receiver, relay):
    endpoint, secret = endpoint
    bob = directory.user("bob")
    assignment = directory.grant(bob, "security-reader")

    relay()

    [hit] = receiver.received
    headers, body = hit["headers"], hit["body"]
    assert headers["x-pim-event"] == "assignment.created"
    assert headers["content-type"] == "application/json"
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert headers["x-pim-delivery"] == str(delivery.pk)
    assert webhook_signature_verify(secret, headers["x-pim-timestamp"], body, headers["x-pim-signature"])
    payload = json.loads(body)
    assert payload["event"] == "assignment.created"
    assert payload["data"]["assignment"]["id"] == assignment.pk
    assert payload["data"]["assignment"]["principal"]["username"] == "bob"
    assert payload["data"]["assignment"]["role"]["slug"] == "security-reader"
    assert delivery.status == "delivered" and delivery.last_status_code == 200 and delivery.attempts == 1


def test_verification_refuses_a_wrong_secret_a_changed_body_and_an_old_timestamp():
    secret, body = "whsec_test", b'{"event":"x"}'
    now = int(time.time())
    header = webhook_signature(secret, str(now), body)

    assert webhook_signature_verify(secret, str(now), body, header)
    assert not webhook_signature_verify("whsec_other", str(now), body, header)
    assert not webhook_signature_verify(secret, str(now), body + b" ", header)
    assert not webhook_signature_verify(secret, str(now + 1), body, header)
    old = str(now - 3600)
    assert not webhook_signature_verify(secret, old, body, webhook_signature(secret, old, body))
    assert not webhook_signature_verify(secret, "not-a-number", body, header)
    assert webhook_signature_verify(secret, str(now), body, f"sha256=deadbeef, {header}")


def test_only_subscribed_events_are_sent(directory, endpoint, receiver, relay):
    endpoint, _ = endpoint
    directory.grant(directory.user("carol"), "security-reader", kind="eligible")  # assignment.created: yes
    from core import domain_events

    domain_events.emit("request.denied", request=None, actor=None)  # not subscribed

    relay()

    assert [h["headers"]["x-pim-event"] for h in receiver.received] == ["assignment.created"]
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 1


def test_a_rotated_secret_signs_the_next_attempts(directory, endpoint, receiver, relay, global_admin):
    from provisioning.services import webhook_endpoint_rotate_secret

    endpoint, old_secret = endpoint
    directory.grant(directory.user("dan"), "security-reader")
    new_secret = webhook_endpoint_rotate_secret(actor=global_admin, endpoint=endpoint, mfa_verified_at=timezone.now())

    relay()

    [hit] = receiver.received
    h = hit["headers"]
    assert new_secret != old_secret
    assert webhook_signature_verify(new_secret, h["x-pim-timestamp"], hit["body"], h["x-pim-signature"])
    assert not webhook_signature_verify(old_secret, h["x-pim-timestamp"], hit["body"], h["x-pim-signature"])
