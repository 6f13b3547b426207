"""Governance through the API: the what-if explains (and against a proposal), readers read, only directory
administrators with an administrative token write conflict sets and exceptions, bad input is a 400."""

from datetime import timedelta

from django.utils import timezone

from .conftest import eligible_of


def test_whatif_explains_for_readers_and_refuses_others(world):
    body = {"principal": world["requester"].user.username, "role": "user-administrator", "scope": "/",
            "justification": "password resets", "mfa_verified": True}
    for name in ("administrator", "auditor"):
        response = world[name].client().post("/api/v1/governance/what-if", body, format="json")
        assert response.status_code == 200, response.json()
        explained = response.json()
        assert explained["verdict"] == "approval"
        assert explained["eligibility"]["assignment_id"] == eligible_of(world["requester"], "user-administrator").pk
        assert explained["policy"]["inherited_from"] == "/"
        assert [a["principal"] for a in explained["approvers"]] == ["Approver"]
    proposed = world["auditor"].client().post("/api/v1/governance/what-if", {
        **body, "proposal": {"values": {"require_approval": False}}}, format="json").json()
    assert proposed["verdict"] == "activate" and proposed["policy"]["source"] == "proposed"
    assert world["requester"].client().post("/api/v1/governance/what-if", body, format="json").status_code == 403
    assert world["anonymous"].client().post("/api/v1/governance/what-if", body, format="json").status_code == 401
    for bad in ({**body, "scope": "/nowhere"}, {**body, "principal": "ghost"},
                {**body, "proposal": {"values": {"max_activation_minutes": 1}}}, {**body, "at": "soon"}):
        response = world["administrator"].client().post("/api/v1/governance/what-if", bad, format="json")
        assert response.status_code == 400, (bad, response.json())


def test_conflict_sets_and_exceptions_need_a_directory_administrator(world):
    body = {"name": "Helpdesk vs users", "mode": "refuse", "roles": ["helpdesk-administrator", "user-administrator"]}
    assert world["auditor"].client().post("/api/v1/governance/conflict-sets/", body, format="json").status_code == 403
    made = world["administrator"].client().post("/api/v1/governance/conflict-sets/", body, format="json")
    assert made.status_code == 201, made.json()
    assert world["auditor"].client().get("/api/v1/governance/conflict-sets/").json()[0]["name"] == "Helpdesk vs users"
    conflicts = world["auditor"].client().get("/api/v1/governance/conflicts/").json()
    assert [c["principal"] for c in conflicts] == [world["requester"].principal.pk]
    exception = world["administrator"].client().post("/api/v1/governance/exceptions/", {
        "conflict_set": made.json()["id"], "principal": world["requester"].principal.pk, "justification": "cover",
        "end_at": (timezone.now() + timedelta(days=3)).isoformat()}, format="json")
    assert exception.status_code == 201, exception.json()
    assert world["auditor"].client().get("/api/v1/governance/conflicts/").json() == []
    revoked = world["administrator"].client().post(f"/api/v1/governance/exceptions/{exception.json()['id']}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert world["administrator"].client().get("/api/v1/governance/right-sizing/").status_code == 200
    assert world["administrator"].client().post("/api/v1/governance/right-sizing/apply/", {"key": "nope:1"},
                                                format="json").status_code == 400
    gone = world["administrator"].client().delete(f"/api/v1/governance/conflict-sets/{made.json()['id']}/")
    assert gone.status_code == 204


def test_conflict_set_without_a_mode_refuses_by_default_and_one_without_two_roles_is_a_400(world):
    """Found by the schema fuzzer: a body without `mode` (optional in the schema) was a 500."""
    client = world["administrator"].client()
    made = client.post("/api/v1/governance/conflict-sets/",
                       {"name": "Defaults", "roles": ["helpdesk-administrator", "user-administrator"]}, format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["mode"] == "refuse"
    lonely = client.post("/api/v1/governance/conflict-sets/", {"name": "One time", "roles": []}, format="json")
    assert lonely.status_code == 400, lonely.json()


def test_rightsizing_settings_are_read_by_readers_and_changed_by_administrators(world):
    url = "/api/v1/governance/right-sizing/settings/"
    assert world["auditor"].client().get(url).json() == {"days": 30, "factor": 2, "min_samples": 3}
    assert world["auditor"].client().patch(url, {"days": 7}, format="json").status_code == 403
    assert world["requester"].client().get(url).status_code == 403
    changed = world["administrator"].client().patch(url, {"days": 7}, format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json() == {"days": 7, "factor": 2, "min_samples": 3}
    assert world["auditor"].client().get(url).json()["days"] == 7
    for bad in ({"days": 0}, {"factor": 1}, {"min_samples": "many"}):
        assert world["administrator"].client().patch(url, bad, format="json").status_code == 400, bad

