"""Enqueueing the same effect (channel, dedupe key) twice leaves one row: the first one, returned to
the second caller, with its payload untouched; the same holds per recipient for an event's emails.
Written with INSERT … ON CONFLICT DO NOTHING, so the transaction stays usable after a duplicate."""

from django.db import transaction

from notifications import outbox
from notifications.email import email_enqueue
from notifications.models import OutboxMessage


def test_the_same_outbox_effect_enqueued_twice_is_one_row_and_keeps_the_first(db):
    with transaction.atomic():
        first = outbox.outbox_enqueue(channel="email", dedupe_key="twice:1", payload={"n": 1})
        again = outbox.outbox_enqueue(channel="email", dedupe_key="twice:1", payload={"n": 2})
        other = outbox.outbox_enqueue(channel="scim", dedupe_key="twice:1", payload={"n": 3})
        assert OutboxMessage.objects.count() == 2  # still usable after the ignored duplicate
    assert first.pk is not None and again.pk == first.pk and other.pk != first.pk
    assert again.payload == {"n": 1} and OutboxMessage.objects.get(pk=first.pk).payload == {"n": 1}


def test_an_events_emails_are_one_row_per_recipient_however_often_it_is_queued(db):
    for _ in range(2):
        email_enqueue(recipients=["a@example.com", "B@example.com", "b@example.com"], template="email/activated",
                      context={"role": "Helpdesk Administrator"}, dedupe_key="activated:7")
    keys = sorted(OutboxMessage.objects.values_list("dedupe_key", flat=True))
    assert keys == ["activated:7:a@example.com", "activated:7:b@example.com"]
