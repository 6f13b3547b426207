"""5xx, 408, 429 and timeouts are retried by the relay with backoff; other 4xx fail at once, the status
code and error kept on the delivery (a connector effect of a webhook target)."""

from datetime import timedelta

import pytest
import time_machine

from notifications.models import OutboxMessage

from .conftest import deliveries

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook(make_webhook):
    target, _secret = make_webhook("assignment.created")
    return target


def _delivery():
    [delivery] = deliveries()
    return delivery


def test_500_is_retried_until_delivered(directory, webhook, receiver, relay):
    receiver.statuses = [500, 503, 200]
    directory.grant(directory.user("bob"), "security-reader")

    relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("queued", 1, 500)
    assert "HTTP 500" in delivery.last_error
    assert delivery.outbox_message.channel == "connector"
    first_retry_at = delivery.outbox_message.available_at

    relay()  # backoff not elapsed: nothing sent
    assert len(receiver.received) == 1

    with time_machine.travel(first_retry_at + timedelta(seconds=1)):
        relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("queued", 2, 503)

    with time_machine.travel(delivery.outbox_message.available_at + timedelta(seconds=1)):
        relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code, delivery.last_error) == (
        "done", 3, 200, "")
    assert delivery.outbox_message.status == "delivered"
    assert len({h["headers"]["x-pim-delivery"] for h in receiver.received}) == 1  # same delivery id each time
    webhook.refresh_from_db()
    assert webhook.status == "ok"


def test_400_fails_permanently(directory, webhook, receiver, relay):
    receiver.statuses = [400]
    directory.grant(directory.user("bob"), "security-reader")

    relay()
    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 1, 400)
    assert "refused" in delivery.last_error
    assert delivery.outbox_message.status == "failed"
    webhook.refresh_from_db()
    assert webhook.status == "error" and "HTTP 400" in webhook.status_message

    with time_machine.travel(delivery.queued_at + timedelta(days=1)):
        relay()
    assert len(receiver.received) == 1


def test_429_is_retried(directory, webhook, receiver, relay):
    receiver.statuses = [429]
    directory.grant(directory.user("bob"), "security-reader")

    relay()

    assert _delivery().status == "queued"
    assert OutboxMessage.objects.get(channel="connector").status == "pending"


def test_an_unreachable_receiver_is_retried(directory, webhook, receiver, relay):
    receiver.stop()
    directory.grant(directory.user("bob"), "security-reader")

    relay()

    delivery = _delivery()
    assert delivery.status == "queued" and "Could not connect" in delivery.last_error


def test_a_timeout_is_retried(directory, webhook, receiver, relay, monkeypatch):
    import httpx

    from connectors.kinds import webhook as webhook_kind

    monkeypatch.setattr(webhook_kind, "TIMEOUT", httpx.Timeout(0.2))
    receiver.delay = 1.0
    directory.grant(directory.user("bob"), "security-reader")

    relay()

    delivery = _delivery()
    assert delivery.status == "queued" and delivery.last_error.startswith("Timed out")


def test_the_relay_gives_up_after_the_last_attempt(directory, webhook, receiver, relay):
    receiver.statuses = [500]
    directory.grant(directory.user("bob"), "security-reader")
    OutboxMessage.objects.filter(channel="connector").update(max_attempts=2)

    relay()
    with time_machine.travel(_delivery().outbox_message.available_at + timedelta(seconds=1)):
        relay()

    delivery = _delivery()
    assert (delivery.status, delivery.attempts, delivery.outbox_message.status) == ("failed", 2, "failed")
    assert "HTTP 500" in delivery.last_error
