"""The expiry sweep hands its events to the provisioning subscriber as a batch. An endpoint that
takes `assignment.expired` gets one signed delivery per expired assignment; an endpoint that does
not take it gets none."""

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import sweeps
from provisioning.models import WebhookDelivery

pytestmark = pytest.mark.django_db


def test_one_delivery_per_expired_assignment_to_the_endpoints_that_take_the_event(global_admin, directory,
                                                                                  receiver):
    from provisioning.services import webhook_endpoint_create

    taking, _ = webhook_endpoint_create(actor=global_admin, url=receiver.url, description="SIEM",
                                        event_types=["assignment.expired"], mfa_verified_at=timezone.now())
    other, _ = webhook_endpoint_create(actor=global_admin, url=receiver.url, description="Tickets",
                                       event_types=["assignment.created"], mfa_verified_at=timezone.now())
    start = timezone.now()
    due = [directory.grant(directory.user(f"holder{i}"), "helpdesk-administrator", kind="eligible",
                           end=start + timedelta(hours=1)) for i in range(3)]
    WebhookDelivery.objects.all().delete()  # the grants' own assignment.created deliveries

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        assert sweeps.assignments_expire(batch_size=2).processed == 3

    deliveries = list(WebhookDelivery.objects.filter(event="assignment.expired"))
    assert {d.endpoint_id for d in deliveries} == {taking.pk}
    bodies = [d.body if isinstance(d.body, dict) else json.loads(d.body) for d in deliveries]
    assert sorted(b["data"]["assignment"]["id"] for b in bodies) == sorted(a.pk for a in due)
    assert not WebhookDelivery.objects.filter(endpoint=other).exists()
