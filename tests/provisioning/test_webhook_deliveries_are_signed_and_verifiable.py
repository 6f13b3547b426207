"""Each delivery is a POST of the event's JSON with X-PIM-Event, X-PIM-Delivery, X-PIM-Timestamp and
an X-PIM-Signature a receiver verifies with the target's signing secret (webhook_signature_verify)."""

import json
import time

import pytest
from django.utils import timezone

from connectors.kinds.webhook import webhook_signature, webhook_signature_verify
from core.crypto import unseal

from .conftest import deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(make_webhook):
    return make_webhook("assignment.created", "assignment.removed")


def test_delivery_is_signed_with_the_target_secret(directory, webhook, receiver, relay):
    target, secret = webhook
    assert secret.startswith("whsec_") and unseal(target.secret_sealed) == secret  # sealed at rest
    bob = directory.user("bob")
    assignment = directory.grant(bob, "security-reader")

    relay()

    [hit] = receiver.received
    headers, body = hit["headers"], hit["body"]
    assert headers["x-pim-event"] == "assignment.created"
    assert headers["content-type"] == "application/json"
    [delivery] = deliveries(target=target)
    assert headers["x-pim-delivery"] == str(delivery.delivery_id)
    assert webhook_signature_verify(secret, headers["x-pim-timestamp"], body, headers["x-pim-signature"])
    payload = json.loads(body)
    assert payload["event"] == "assignment.created"
    assert payload["data"]["assignment"]["id"] == assignment.pk
    assert payload["data"]["assignment"]["principal"]["username"] == "bob"
    assert payload["data"]["assignment"]["role"]["slug"] == "security-reader"
    assert (delivery.status, delivery.last_status_code, delivery.attempts) == ("done", 200, 1)
    assert delivery.applied_at is not None and delivery.detail == "HTTP 200 OK"


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


def test_only_subscribed_events_are_sent(directory, webhook, receiver, relay):
    target, _ = webhook
    directory.grant(directory.user("carol"), "security-reader", kind="eligible")  # assignment.created: yes
    from core import domain_events

    domain_events.emit("request.denied", request=None, actor=None)  # not subscribed

    relay()

    assert [h["headers"]["x-pim-event"] for h in receiver.received] == ["assignment.created"]
    assert len(deliveries(target=target)) == 1


def test_an_event_announced_twice_is_delivered_once(directory, webhook, receiver, relay):
    from core import domain_events

    target, _ = webhook
    assignment = directory.grant(directory.user("erin"), "security-reader")
    domain_events.emit("assignment.created", assignment=assignment, request=assignment.requests.get(), actor=None)

    relay()

    assert len(deliveries(target=target)) == 1 and len(receiver.received) == 1


def test_a_rotated_secret_signs_the_next_attempts(directory, webhook, receiver, relay, global_admin):
    from connectors.services import webhook_target_rotate_secret

    target, old_secret = webhook
    directory.grant(directory.user("dan"), "security-reader")
    new_secret = webhook_target_rotate_secret(actor=global_admin, target=target, mfa_verified_at=timezone.now())

    relay()

    [hit] = receiver.received
    h = hit["headers"]
    assert new_secret != old_secret
    assert webhook_signature_verify(new_secret, h["x-pim-timestamp"], hit["body"], h["x-pim-signature"])
    assert not webhook_signature_verify(old_secret, h["x-pim-timestamp"], hit["body"], h["x-pim-signature"])


def test_test_connection_sends_a_signed_ping(webhook, receiver, global_admin):
    from connectors.services import target_test

    target, secret = webhook
    result = target_test(actor=global_admin, target=target)

    [hit] = receiver.received
    assert result.ok and "signed ping" in result.message
    assert hit["headers"]["x-pim-event"] == "ping"
    assert webhook_signature_verify(secret, hit["headers"]["x-pim-timestamp"], hit["body"],
                                    hit["headers"]["x-pim-signature"])
    receiver.statuses = [401]
    refused = target_test(actor=global_admin, target=target)
    target.refresh_from_db()
    assert not refused.ok and target.status == "error" and "HTTP 401" in target.status_message
