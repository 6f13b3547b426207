"""`/metrics` counts connector effects by target kind and status (a failed grant or revoke shows as
`status="failed"` of its kind) and webhook deliveries by status, as they are at scrape time."""

import pytest
from django.utils import timezone

from assignments.models import RoleDefinition, Scope
from connectors.models import Effect, Mapping, Target
from provisioning.models import WebhookDelivery, WebhookEndpoint

from .test_metrics_report_backlogs_and_their_ages import scrape, value

pytestmark = pytest.mark.django_db


def _effects(kind: str, principal, statuses: list[str]) -> None:
    now = timezone.now()
    target = Target.objects.create(name=f"{kind} target", kind=kind, created_at=now, updated_at=now)
    mapping = Mapping.objects.create(target=target, role=RoleDefinition.objects.get(slug="reader"),
                                     scope=Scope.objects.get(path="/"), grant=f"{kind}-readers", created_at=now)
    Effect.objects.bulk_create([Effect(mapping=mapping, target=target, principal=principal, action="grant",
                                       transition="assignment.created", status=status, queued_at=now, not_before=now)
                                for status in statuses])


def test_connector_failures_and_webhook_deliveries_by_status(client, directory):
    principal = directory.user("holder").principal
    _effects("ldap", principal, ["failed", "failed", "done"])
    _effects("scim", principal, ["queued", "failed"])
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.com/pim", event_types=["assignment.created"],
                                              secret_sealed="", secret_rotated_at=now, created_at=now, updated_at=now)
    WebhookDelivery.objects.bulk_create([WebhookDelivery(endpoint=endpoint, event="assignment.created",
                                                         event_key=f"k{n}", body="{}", status=status, created_at=now)
                                         for n, status in enumerate(["failed", "delivered", "delivered"])])

    metrics = scrape(client)
    assert value(metrics, "pim_connector_effects", kind="ldap", status="failed") == 2
    assert value(metrics, "pim_connector_effects", kind="ldap", status="done") == 1
    assert value(metrics, "pim_connector_effects", kind="scim", status="failed") == 1
    assert value(metrics, "pim_connector_effects", kind="scim", status="queued") == 1
    assert value(metrics, "pim_webhook_deliveries", status="failed") == 1
    assert value(metrics, "pim_webhook_deliveries", status="delivered") == 2
    assert value(metrics, "pim_metrics_errors") is None
