"""The subscribers run inside everyone's write transactions: one query when nothing is configured,
and a failure while queueing is logged, never raised into the change that emitted the event."""

import pytest

from assignments.models import Assignment
from connectors import effects, webhooks
from connectors.models import Effect
from connectors.webhooks import webhooks_on_domain_event

pytestmark = pytest.mark.django_db


def test_one_query_when_nothing_is_configured(directory, django_assert_num_queries):
    group = directory.group("G")
    assignment = directory.add_member(group, directory.user("alice"), kind="active")
    request = assignment.requests.get()

    with django_assert_num_queries(1):
        webhooks_on_domain_event(name="assignment.created", assignment=assignment, request=request, actor=None)
    with django_assert_num_queries(1):
        webhooks_on_domain_event(name="request.approved", request=request, actor=None)


def test_a_failure_while_queueing_does_not_break_the_change(directory, scim_app, make_webhook, monkeypatch, caplog):
    make_webhook("assignment.created")

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(effects, "effects_enqueue", broken)
    monkeypatch.setattr(webhooks, "webhook_events_enqueue", broken)

    assignment = directory.add_member(scim_app.group, directory.user("alice"), kind="active")

    assert Assignment.objects.filter(pk=assignment.pk, status="live").exists()
    assert not Effect.objects.exists()
    assert "Webhooks: could not queue deliveries for assignment.created" in caplog.text
    assert "Connectors: could not queue effects for assignment.created" in caplog.text


def test_a_partial_write_is_rolled_back_to_the_savepoint(directory, scim_app, make_webhook, monkeypatch):
    """Rows written before the failure go too, so no half-queued effect or delivery is left behind."""
    make_webhook("assignment.created")
    real = effects._enqueue
    real_outbox = webhooks.outbox_enqueue

    def half(**kwargs):
        real(**kwargs)
        raise RuntimeError("after the first write")

    def half_outbox(**kwargs):
        real_outbox(**kwargs)
        raise RuntimeError("after the delivery's rows")

    monkeypatch.setattr(effects, "_enqueue", half)
    monkeypatch.setattr(webhooks, "outbox_enqueue", half_outbox)

    directory.add_member(scim_app.group, directory.user("alice"), kind="active")

    assert not Effect.objects.exists()
