"""5xx, 408, 429 and timeouts are retried by the relay with backoff; other 4xx fail at once."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from notifications.models import OutboxMessage
from provisioning.models import WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(global_admin, receiver):
    from provisioning.services import webhook_endpoint_create

    endpoint, _ = webhook_endpoint_create(actor=global_admin, url=receiver.url, event_types=["assignment.created"],
                                          mfa_verified_at=timezone.now())
    return endpoint


def _delivery():
    return WebhookDelivery.objects.select_related("outbox_message").get()


def test_500_is_retried_until_delivered(directory, endpoint, receiver, relay):
    receiver.statuses = [500, 503, 200]
    directory.grant(directory.user("bob"), "security-reader")

    relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert "HTTP 500" in delivery.last_error
    first_retry_at = delivery.outbox_message.available_at

    relay()  # backoff not elapsed: nothing sent
    assert len(receiver.received) == 1

    with time_machine.travel(first_retry_at + timedelta(seconds=1)):
        relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 2, 503)

    with time_machine.travel(delivery.outbox_message.available_at + timedelta(seconds=1)):
        relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "delivered", 3, 200, "")
    assert delivery.outbox_message.status == "delivered"
    assert len({h["headers"]["x-pim-delivery"] for h in receiver.received}) == 1  # same delivery id each time


def test_400_fails_permanently(directory, endpoint, receiver, relay):
    receiver.statuses = [400]
    directory.grant(directory.user("bob"), "security-reader")

    relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 400)
    assert "refused" in delivery.last_error
    assert delivery.outbox_message.status == "failed"

    with time_machine.travel(delivery.created_at + timedelta(days=1)):
        relay()
    assert len(receiver.received) == 1


def test_429_is_retried(directory, endpoint, receiver, relay):
    receiver.statuses = [429]
    directory.grant(directory.user("bob"), "security-reader")

    relay()

    assert _delivery().status == "pending"
    assert OutboxMessage.objects.get(channel="webhook").status == "pending"


def test_an_unreachable_receiver_is_retried(directory, endpoint, receiver, relay):
    receiver.stop()
    directory.grant(directory.user("bob"), "security-reader")

    relay()

    delivery = _delivery()
    assert delivery.status == "pending" and "Could not connect" in delivery.last_error


def test_a_timeout_is_retried(directory, endpoint, receiver, relay, monkeypatch):
    import httpx

    from provisioning import webhooks

    monkeypatch.setattr(webhooks, "TIMEOUT", httpx.Timeout(0.2))
    receiver.delay = 1.0
    directory.grant(directory.user("bob"), "security-reader")

    relay()

    delivery = _delivery()
    assert delivery.status == "pending" and delivery.last_error.startswith("Timed out")


def test_the_relay_gives_up_after_the_last_attempt(directory, endpoint, receiver, relay):
    receiver.statuses = [500]
    directory.grant(directory.user("bob"), "security-reader")
    OutboxMessage.objects.filter(channel="webhook").update(max_attempts=2)

    relay()
    with time_machine.travel(_delivery().outbox_message.available_at + timedelta(seconds=1)):
        relay()

    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.outbox_message.status) == ("failed", 2, "failed")
    assert "HTTP 500" in delivery.last_error
