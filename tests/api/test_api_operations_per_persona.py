"""Every operation, every persona: who gets a 2xx, who a 401/403/404, and never a 5xx."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from .conftest import eligible_of

PERSONAS = ["requester", "approver", "administrator", "auditor", "service_principal", "anonymous"]
ALL_SIGNED_IN = {"requester", "approver", "administrator", "auditor", "service_principal"}

# (method, path, body factory or None, personas that succeed)
READS = [
    ("get", "/api/v1/ping", ALL_SIGNED_IN),
    ("get", "/api/v1/roles/", ALL_SIGNED_IN),
    ("get", "/api/v1/scopes/", ALL_SIGNED_IN),
    ("get", "/api/v1/principals/", ALL_SIGNED_IN),
    ("get", "/api/v1/role-settings/", ALL_SIGNED_IN),
    ("get", "/api/v1/assignments/", ALL_SIGNED_IN),
    ("get", "/api/v1/requests/", ALL_SIGNED_IN),
    ("get", "/api/v1/approvals/", ALL_SIGNED_IN),
    ("get", "/api/v1/audit/events/", ALL_SIGNED_IN),  # each sees what the audit app lets them see
    ("get", "/api/v1/audit/events.csv", ALL_SIGNED_IN),
    ("get", "/api/v1/schema/", ALL_SIGNED_IN),  # anonymous only with PIM_API_DOCS_PUBLIC
]


@pytest.mark.parametrize("persona_name", PERSONAS)
@pytest.mark.parametrize(("method", "path", "allowed"), READS, ids=[r[1] for r in READS])
def test_reads(world, persona_name, method, path, allowed):
    response = getattr(world[persona_name].client(), method)(path)
    if persona_name in allowed:
        assert response.status_code == 200, (persona_name, path, response.status_code)
    elif persona_name == "anonymous":
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "not_authenticated"
    else:
        assert response.status_code == 403


def test_audit_log_shows_everything_to_auditors_and_own_scope_to_others(world):
    auditor = world["auditor"].client().get("/api/v1/audit/events/", {"page_size": 500}).json()["results"]
    requester = world["requester"].client().get("/api/v1/audit/events/", {"page_size": 500}).json()["results"]
    sp = world["service_principal"].client().get("/api/v1/audit/events/", {"page_size": 500}).json()["results"]
    assert len(auditor) > len(sp) > 0
    assert requester == []
    assert all(e["scope_path"].startswith("/subscriptions/s1") for e in sp)


def test_role_setting_change_needs_the_role_administrator(world):
    body = {"role": "exchange-administrator", "max_activation_minutes": 90, "reason": "test"}
    for name in PERSONAS:
        response = world[name].client().post("/api/v1/role-settings/", body, format="json")
        if name == "administrator":
            assert response.status_code == 200, response.json()
            assert response.json()["max_activation_minutes"] == 90
        elif name == "anonymous":
            assert response.status_code == 401
        else:
            assert response.status_code == 403, (name, response.json())


def test_service_principal_cannot_change_a_policy_even_within_its_scope(world):
    client = world["service_principal"].client()
    inside = client.post("/api/v1/role-settings/", {"reason": "test", "role": "reader", "scope": "/subscriptions/s1",
                                                    "max_activation_minutes": 120}, format="json")
    assert inside.status_code == 403, inside.json()  # a privileged administrative change needs a person
    assert "service principal" in inside.json()["error"]["message"]
    outside = client.post("/api/v1/role-settings/", {"reason": "test", "role": "reader", "scope": "/subscriptions/s2",
                                                     "max_activation_minutes": 120}, format="json")
    assert outside.status_code == 403


def test_assignment_detail_is_visible_to_its_holder_and_administrators_only(world):
    eligible = eligible_of(world["requester"], "helpdesk-administrator")
    url = f"/api/v1/assignments/{eligible.pk}/"
    expected = {"requester": 200, "approver": 404, "administrator": 200, "auditor": 200,
                "service_principal": 404, "anonymous": 401}
    for name, code in expected.items():
        assert world[name].client().get(url).status_code == code, name


def test_requests_detail_and_cancel_of_unknown_ids_are_404(world):
    unknown = uuid.uuid4()
    for name in ALL_SIGNED_IN:
        client = world[name].client()
        assert client.get(f"/api/v1/requests/{unknown}/").status_code == 404
        assert client.post(f"/api/v1/approvals/{unknown}/approve/", {}, format="json").status_code in (403, 404)
    assert world["anonymous"].client().get(f"/api/v1/requests/{unknown}/").status_code == 401


def test_create_assignment_per_persona(world, directory):
    directory.user("target")
    end = (timezone.now() + timedelta(days=7)).isoformat()
    body = {"principal": "target", "role": "exchange-administrator", "scope": "/", "kind": "eligible",
            "end_at": end, "justification": "x"}
    for name in PERSONAS:
        response = world[name].client().post("/api/v1/assignments/", body, format="json")
        expected = {"administrator": 201, "anonymous": 401}.get(name, 403)
        assert response.status_code == expected, (name, response.content)
