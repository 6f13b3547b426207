"""Webhooks through the API are connector targets of kind "webhook", against a real loopback receiver:
an administrator's administrative token adds one (its generated signing secret comes back once, never
again), changes it, rotates the secret, reads its deliveries (effects, with status code and error),
runs a failed one again and deletes it. Others are refused; a general token cannot make these
privileged changes; the old /webhooks/ addresses are gone."""

import pytest

from audit.models import AuditEvent
from connectors.models import Target
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


def test_webhook_targets(world, directory, admin_p, requester_p, sp_p, receiver, general_token_for):
    from notifications.outbox import outbox_relay_once

    api = admin_p.client()
    body = {"name": "SIEM", "kind": "webhook", "config": {"url": receiver.url, "event_types": ["assignment.created"]}}
    created = api.post("/api/v1/connectors/targets/", body, format="json")
    assert created.status_code == 201, created.json()
    assert created["Cache-Control"] == "no-store" and created.json()["secret"].startswith("whsec_")
    target_id = created.json()["id"]
    shown = api.get(f"/api/v1/connectors/targets/{target_id}/")
    assert shown.status_code == 200 and "secret" not in shown.json() and shown.json()["has_secret"] is True
    chosen = api.post("/api/v1/connectors/targets/", {
        **body, "name": "Tickets", "secret": "whsec_mine",
        "config": {"url": receiver.url, "event_types": ["assignment.removed"]}}, format="json")
    assert chosen.status_code == 201 and "secret" not in chosen.json()
    bad = api.post("/api/v1/connectors/targets/", {**body, "name": "Bad", "config": {
        "url": receiver.url, "event_types": ["no.such.event"]}}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "event_types"

    receiver.statuses = [404, 200]
    directory.grant(directory.user("bob"), "security-reader")
    outbox_relay_once()
    [delivery] = [e for e in api.get(f"/api/v1/connectors/targets/{target_id}/effects/").json()
                  if e["event"] == "assignment.created"]
    assert (delivery["action"], delivery["status"], delivery["last_status_code"], delivery["grant"]) == (
        "event", "failed", 404, None)
    retried = api.post(f"/api/v1/connectors/targets/{target_id}/effects/{delivery['id']}/retry/")
    assert retried.status_code == 200 and retried.json()["status"] == "queued"
    outbox_relay_once()
    again = api.get(f"/api/v1/connectors/targets/{target_id}/effects/").json()
    assert [e["status"] for e in again if e["id"] == delivery["id"]] == ["done"]
    assert {h["headers"]["x-pim-delivery"] for h in receiver.received} == {delivery["delivery_id"]}

    changed = api.put(f"/api/v1/connectors/targets/{target_id}/", {**body, "enabled": False}, format="json")
    assert changed.status_code == 200 and changed.json()["enabled"] is False
    rotated = api.post(f"/api/v1/connectors/targets/{target_id}/rotate-secret/")
    assert rotated.status_code == 200 and rotated.json()["secret"] != created.json()["secret"]
    assert rotated["Cache-Control"] == "no-store"
    from django.utils import timezone

    ldap = Target.objects.create(name="LDAP", kind="ldap", config={}, created_at=timezone.now(),
                                 updated_at=timezone.now())
    assert api.post(f"/api/v1/connectors/targets/{ldap.pk}/rotate-secret/").status_code == 400
    general = bearer(general_token_for(admin_p.user)).post(f"/api/v1/connectors/targets/{target_id}/delete/")
    assert general.status_code == 403 and general.json()["error"]["field"] == "admin_mfa"
    for persona in (requester_p, sp_p):
        assert persona.client().get("/api/v1/connectors/targets/").status_code == 403
        assert persona.client().post(f"/api/v1/connectors/targets/{target_id}/rotate-secret/").status_code == 403
    assert api.post(f"/api/v1/connectors/targets/{target_id}/delete/").status_code == 204
    assert not Target.objects.filter(pk=target_id).exists()
    assert api.get("/api/v1/webhooks/").status_code == 404
    for action in ("connector_target.create", "connector_target.update", "connector_target.rotate_secret",
                   "connector_target.delete", "connector_effect.retry"):
        assert AuditEvent.objects.filter(action=action, actor_id=admin_p.user.pk).exists(), action
