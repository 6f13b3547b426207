"""The expiry sweep hands its events to the webhook subscriber as a batch. A webhook target that takes
`assignment.expired` gets one signed delivery per expired assignment; a target that does not take it
gets none."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import sweeps
from connectors.kinds.webhook import webhook_signature_verify
from connectors.models import Effect
from notifications.models import OutboxMessage

from .conftest import deliveries

pytestmark = pytest.mark.django_db


def test_one_delivery_per_expired_assignment_to_the_targets_that_take_the_event(directory, make_webhook, relay,
                                                                                receiver):
    taking, secret = make_webhook("assignment.expired", name="SIEM")
    other, _ = make_webhook("assignment.created", name="Tickets")
    start = timezone.now()
    due = [directory.grant(directory.user(f"holder{i}"), "helpdesk-administrator", kind="eligible",
                           end=start + timedelta(hours=1)) for i in range(3)]
    Effect.objects.all().delete()  # the grants' own assignment.created deliveries
    OutboxMessage.objects.all().delete()

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert sweeps.assignments_expire(batch_size=2).processed == 3
        relay()

    expired = deliveries(event="assignment.expired")
    assert {d.target_id for d in expired} == {taking.pk}
    assert sorted(json.loads(d.body)["data"]["assignment"]["id"] for d in expired) == sorted(a.pk for a in due)
    assert not deliveries(target=other)
    assert len(receiver.received) == 3
    assert all(webhook_signature_verify(secret, r["headers"]["x-pim-timestamp"], r["body"],
                                        r["headers"]["x-pim-signature"], now=(start + timedelta(hours=2)).timestamp())
               for r in receiver.received)
