"""The subscriber runs inside everyone's write transactions: one query when nothing is configured,
and a failure while queueing is logged, never raised into the change that emitted the event."""

import pytest
from django.utils import timezone

from assignments.models import Assignment
from connectors import effects
from connectors.models import Effect
from provisioning import webhooks
from provisioning.models import WebhookDelivery
from provisioning.services import provisioning_on_domain_event

pytestmark = pytest.mark.django_db


def test_one_query_when_nothing_is_configured(directory, django_assert_num_queries):
    group = directory.group("G")
    assignment = directory.add_member(group, directory.user("alice"), kind="active")
    request = assignment.requests.get()

    with django_assert_num_queries(1):
        provisioning_on_domain_event(name="assignment.created", assignment=assignment, request=request, actor=None)
    with django_assert_num_queries(1):
        provisioning_on_domain_event(name="request.approved", request=request, actor=None)


def test_a_failure_while_queueing_does_not_break_the_change(directory, scim_app, global_admin, receiver,
                                                            monkeypatch, caplog):
    from provisioning.services import webhook_endpoint_create

    webhook_endpoint_create(actor=global_admin, url=receiver.url, event_types=["assignment.created"],
                            mfa_verified_at=timezone.now())

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(effects, "effects_enqueue", broken)
    monkeypatch.setattr(webhooks, "webhooks_enqueue", broken)

    assignment = directory.add_member(scim_app.group, directory.user("alice"), kind="active")

    assert Assignment.objects.filter(pk=assignment.pk, status="live").exists()
    assert not Effect.objects.exists() and not WebhookDelivery.objects.exists()
    assert "could not queue deliveries for assignment.created" in caplog.text
    assert "Connectors: could not queue effects for assignment.created" in caplog.text


def test_a_partial_write_is_rolled_back_to_the_savepoint(directory, scim_app, monkeypatch):
    """Rows written before the failure go too, so no half-queued effect is left behind."""
    real = effects._enqueue

    def half(**kwargs):
        real(**kwargs)
        raise RuntimeError("after the first write")

    monkeypatch.setattr(effects, "_enqueue", half)

    directory.add_member(scim_app.group, directory.user("alice"), kind="active")

    assert not Effect.objects.exists()
