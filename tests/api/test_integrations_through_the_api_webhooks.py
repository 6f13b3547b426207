"""Integrations through the API, against real loopback peers: an administrator's administrative token
registers a webhook endpoint (the signing secret comes back once, never again), changes it, rotates the
secret, reads its deliveries and deletes it. Others are refused; a general token cannot make these
privileged changes. (SCIM applications are connector targets, tested with the connectors API.)"""

import pytest

from audit.models import AuditEvent
from provisioning.models import WebhookEndpoint
from tests.provisioning.conftest import Receiver

from .conftest import bearer


@pytest.fixture(autouse=True)
def _allow_loopback_targets(settings):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = True


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def test_webhook_endpoints(world, admin_p, requester_p, sp_p, receiver, general_token_for):
    api = admin_p.client()
    body = {"url": receiver.url, "description": "SIEM", "event_types": ["assignment.activated"]}
    created = api.post("/api/v1/webhooks/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created["Cache-Control"] == "no-store" and created.json()["secret"].startswith("whsec_")
    endpoint_id = created.json()["id"]
    shown = api.get(f"/api/v1/webhooks/{endpoint_id}/")
    assert shown.status_code == 200 and "secret" not in shown.json() and shown.json()["deliveries"] == []
    bad = api.post("/api/v1/webhooks/", {**body, "event_types": ["no.such.event"]}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"].startswith("event_types")
    changed = api.put(f"/api/v1/webhooks/{endpoint_id}/", {**body, "enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    rotated = api.post(f"/api/v1/webhooks/{endpoint_id}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created.json()["secret"]
    assert api.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/00000000-0000-0000-0000-000000000000/retry/"
                    ).status_code == 404
    general = bearer(general_token_for(admin_p.user)).delete(f"/api/v1/webhooks/{endpoint_id}/")
    assert general.status_code == 403 and general.json()["error"]["field"] == "admin_mfa"
    for persona in (requester_p, sp_p):
        assert persona.client().get("/api/v1/webhooks/").status_code == 403
    assert api.delete(f"/api/v1/webhooks/{endpoint_id}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=endpoint_id).exists()
    for action in ("webhook.create", "webhook.update", "webhook.rotate_secret", "webhook.delete"):
        assert AuditEvent.objects.filter(action=action, actor_id=admin_p.user.pk).exists(), action
