"""The portal's state at scrape time: approvals pending and the oldest one's age, the outbox backlog by
channel and its oldest row, failed rows, the sweep lag, activations, the audit chain head and the
age of the last checkpoint."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from audit.services import audit_checkpoint_create
from notifications.models import OutboxMessage
from notifications.outbox import outbox_enqueue
from tests.conftest import SETUP


def scrape(client) -> dict[tuple, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}


def value(metrics, name, **labels):
    return metrics.get((name, tuple(sorted(labels.items()))))


@pytest.mark.django_db
def test_backlogs_ages_activations_and_the_audit_chain(client, directory):
    from approvals import services as approvals
    from assignments import services

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        requester = directory.user("requester")
        approver = directory.user("approver")
        role = directory.role("security-administrator")
        services.role_setting_update(actor=SETUP, role=role, scope=directory.root, values={
            "require_mfa_on_activation": False, "require_justification_on_activation": False,
            "require_ticket_on_activation": False, "require_approval": True}, approver_ids=[approver.principal.pk])
        eligible = directory.grant(requester, "security-administrator", kind="eligible")
        approvals.request_self_activate(actor=requester, eligible_assignment=eligible, duration_minutes=60,
                                        justification="incident")
        helpdesk = directory.role("helpdesk-administrator")
        services.role_setting_update(actor=SETUP, role=helpdesk, scope=directory.root, values={
            "require_mfa_on_activation": False, "require_justification_on_activation": False,
            "require_ticket_on_activation": False, "require_approval": False})
        held = directory.grant(requester, "helpdesk-administrator", kind="eligible")
        approvals.request_self_activate(actor=requester, eligible_assignment=held, duration_minutes=60,
                                        justification="ticket")
        # An active assignment that ends in 10 minutes, which no sweep will have tidied up at the scrape.
        directory.grant(directory.user("temp"), "global-reader", end=start + timedelta(minutes=10))
        OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).update(status=OutboxMessage.Status.DELIVERED)
        outbox_enqueue(channel="connector", dedupe_key="metrics-test-1", payload={})
        failed = outbox_enqueue(channel="connector", dedupe_key="metrics-test-2", payload={})
        OutboxMessage.objects.filter(pk=failed.pk).update(status=OutboxMessage.Status.FAILED)
        audit_checkpoint_create()

    with time_machine.travel(start + timedelta(minutes=30), tick=False):
        outbox_enqueue(channel="email", dedupe_key="metrics-test-3", payload={})
        metrics = scrape(client)

    assert value(metrics, "pim_approvals_pending") == 1
    assert value(metrics, "pim_approvals_pending_oldest_age_seconds") == 30 * 60
    assert value(metrics, "pim_activations_total", status="pending_approval") == 1
    assert value(metrics, "pim_activations_total", status="provisioned") == 1
    assert value(metrics, "pim_activations_active") == 1
    assert value(metrics, "pim_outbox_backlog", channel="connector") == 1
    assert value(metrics, "pim_outbox_backlog", channel="email") == 1
    assert value(metrics, "pim_outbox_oldest_pending_age_seconds", channel="connector") == 30 * 60
    assert value(metrics, "pim_outbox_oldest_pending_age_seconds", channel="email") == 0
    assert value(metrics, "pim_outbox_failed", channel="connector") == 1
    assert value(metrics, "pim_sweep_lag_seconds") == 20 * 60
    assert value(metrics, "pim_sweep_backlog") == 1
    from audit.models import AuditChainHead

    head = AuditChainHead.objects.get(pk=1).last_seq
    assert value(metrics, "pim_audit_chain_head_seq") == head
    assert value(metrics, "pim_audit_last_checkpoint_age_seconds") == 30 * 60
    assert value(metrics, "pim_metrics_errors") is None


@pytest.mark.django_db
def test_a_fresh_database_scrapes_with_zeros_and_no_checkpoint(client):
    metrics = scrape(client)
    assert value(metrics, "pim_approvals_pending") == 0
    assert value(metrics, "pim_sweep_lag_seconds") == 0
    assert value(metrics, "pim_audit_last_checkpoint_age_seconds") == -1
