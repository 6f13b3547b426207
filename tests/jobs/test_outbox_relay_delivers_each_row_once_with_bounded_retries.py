"""The relay: claims rows with a lease, delivers each once, retries failures with backoff up to
max_attempts, gives up at once on permanent errors, and never lets a stale relay overwrite."""

from datetime import timedelta

import time_machine
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from notifications import outbox as outbox_module
from notifications.email import email_enqueue
from notifications.models import OutboxMessage


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_an_email_is_rendered_at_delivery_with_prefix_text_and_html_and_sent_once(db):
    with transaction.atomic():
        email_enqueue(recipients=["a@example.com", "A@example.com", "b@example.com", ""], template="email/expired",
                      context={"principal": "Ann", "role": "Reader", "scope": "/", "kind": "eligible assignment",
                               "start": "s", "end": "e", "link": "https://pim.example/requests/roles/"},
                      dedupe_key="expired:1")
        email_enqueue(recipients=["a@example.com"], template="email/expired", context={}, dedupe_key="expired:1")
    assert OutboxMessage.objects.count() == 2

    assert outbox_module.outbox_relay_once() == 2
    assert outbox_module.outbox_relay_once() == 0

    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.com", "b@example.com"]
    message = mail.outbox[0]
    assert message.subject == "PIM: Ann's eligible assignment of Reader has ended"  # a row queued before `noun`
    assert "https://pim.example/requests/roles/" in message.body and "&" not in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and 'href="https://pim.example/requests/roles/"' in html


def test_failures_are_retried_with_backoff_and_given_up_after_max_attempts(db):
    calls = []

    def flaky(message):
        calls.append(message.pk)
        raise ConnectionError("peer down")

    outbox_module.register_channel("test-flaky", flaky)
    message = outbox_module.outbox_enqueue(channel="test-flaky", dedupe_key="x", payload={}, max_attempts=3)
    now = timezone.now()
    for attempt in range(1, 4):
        with time_machine.travel(now + timedelta(hours=attempt * 2), tick=False):
            assert outbox_module.outbox_relay_once() == 0
            assert outbox_module.outbox_relay_once() == 0  # backing off: not retried at once
        message.refresh_from_db()
        assert message.attempts == attempt
    assert message.status == OutboxMessage.Status.FAILED and "peer down" in message.last_error
    with time_machine.travel(now + timedelta(days=2), tick=False):
        outbox_module.outbox_relay_once()
    assert len(calls) == 3


def test_a_permanent_error_fails_at_once(db):
    def bad(message):
        raise outbox_module.PermanentDeliveryError("410 Gone")

    outbox_module.register_channel("test-bad", bad)
    message = outbox_module.outbox_enqueue(channel="test-bad", dedupe_key="x", payload={})
    outbox_module.outbox_relay_once()
    message.refresh_from_db()
    assert message.status == OutboxMessage.Status.FAILED and message.attempts == 1


def test_a_row_whose_lease_was_taken_over_is_left_to_the_new_owner(db):
    delivered = []
    outbox_module.register_channel("test-ok", lambda m: delivered.append(m.pk))
    outbox_module.outbox_enqueue(channel="test-ok", dedupe_key="x", payload={})
    now = timezone.now()
    [stale] = outbox_module.outbox_claim(now=now)
    # The first relay stalls past its lease; another relay claims the row and delivers it.
    with time_machine.travel(now + outbox_module.LEASE + timedelta(seconds=1), tick=False):
        [fresh] = outbox_module.outbox_claim()
        assert outbox_module.outbox_deliver(message=fresh) is True
        assert outbox_module.outbox_deliver(message=stale) is False
    assert len(delivered) == 1


def test_the_bulk_path_keeps_one_row_per_effect_and_recipient(db):
    from notifications.email import email_enqueue_many

    items = [(["a@example.com", "b@example.com", "A@example.com"], "email/expired", {"role": "Reader"}, "expired:7",
              None)]
    with transaction.atomic():
        assert email_enqueue_many(items) == 2
        assert email_enqueue_many(items) == 2  # offered again: kept as they are
    rows = OutboxMessage.objects.order_by("dedupe_key")
    assert [(m.dedupe_key, m.payload["to"], m.status) for m in rows] == [
        ("expired:7:a@example.com", "a@example.com", "pending"),
        ("expired:7:b@example.com", "b@example.com", "pending")]
