"""Integrations through the API, against real loopback peers: an administrator's administrative token
registers a webhook endpoint (the signing secret comes back once, never again), changes it, rotates the
secret, reads its deliveries and deletes it; adds a SCIM application to a group (the token is write-only),
checks it against a real scim2-server and removes it. Others are refused; a general token cannot make
these privileged changes."""

import pytest

from audit.models import AuditEvent
from provisioning.models import ScimApplication, WebhookEndpoint
from tests.provisioning.conftest import PEER_TOKEN, Receiver, ScimPeer

from .conftest import bearer


@pytest.fixture(autouse=True)
def _allow_loopback_targets(settings):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = True


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def scim_peer():
    peer = ScimPeer()
    yield peer
    peer.stop()


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


def test_scim_applications_of_a_group(world, admin_p, requester_p, directory, scim_peer):
    group = directory.group("Payroll admins")
    api = admin_p.client()
    body = {"group": group.pk, "name": "Payroll SaaS", "base_url": scim_peer.base_url, "token": PEER_TOKEN}
    created = api.post("/api/v1/scim-applications/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["has_token"] is True and PEER_TOKEN not in created.content.decode()
    app_id = created.json()["id"]
    checked = api.post(f"/api/v1/scim-applications/{app_id}/check/")
    assert checked.status_code == 200 and checked.json()["ok"] is True, checked.json()
    assert api.post("/api/v1/scim-applications/", body, format="json").status_code == 409
    assert [a["id"] for a in api.get("/api/v1/scim-applications/").json()] == [app_id]
    assert api.get(f"/api/v1/scim-applications/{app_id}/").json()["operations"] == []
    # The requester owns no group: sees no application and may not open this one.
    assert requester_p.client().get("/api/v1/scim-applications/").json() == []
    assert requester_p.client().get(f"/api/v1/scim-applications/{app_id}/").status_code == 403
    kept = api.put(f"/api/v1/scim-applications/{app_id}/", {"name": "Payroll", "base_url": scim_peer.base_url},
                   format="json")
    assert kept.status_code == 200 and kept.json()["has_token"] is True  # omitted: kept
    removed = api.put(f"/api/v1/scim-applications/{app_id}/", {"name": "Payroll", "base_url": scim_peer.base_url,
                                                               "token": ""}, format="json")
    assert removed.json()["has_token"] is False
    assert api.delete(f"/api/v1/scim-applications/{app_id}/").status_code == 204
    assert not ScimApplication.objects.filter(pk=app_id).exists()
