"""`/metrics` counts connector effects by target kind and status (a failed grant or revoke shows as
`status="failed"` of its kind), webhook deliveries among them (kind `webhook`), as they are at scrape time."""

import pytest
from django.utils import timezone

from assignments.models import RoleDefinition, Scope
from connectors.models import Effect, Mapping, Target

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
    config = {"url": "https://hooks.example.com/pim", "event_types": ["assignment.created"]}
    hooks = Target.objects.create(name="hooks", kind="webhook", created_at=now, updated_at=now, config=config)
    Effect.objects.bulk_create([Effect(target=hooks, action="event", event="assignment.created", body="{}",
                                       transition=f"k{n}", status=status, queued_at=now, not_before=now)
                                for n, status in enumerate(["failed", "done", "done"])])
    metrics = scrape(client)
    assert value(metrics, "pim_connector_effects", kind="ldap", status="failed") == 2
    assert value(metrics, "pim_connector_effects", kind="ldap", status="done") == 1
    assert value(metrics, "pim_connector_effects", kind="scim", status="failed") == 1
    assert value(metrics, "pim_connector_effects", kind="scim", status="queued") == 1
    assert value(metrics, "pim_connector_effects", kind="webhook", status="failed") == 1
    assert value(metrics, "pim_connector_effects", kind="webhook", status="done") == 2
    assert value(metrics, "pim_metrics_errors") is None
