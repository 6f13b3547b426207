"""Staged approval and delegation in the API: the administrator sets two stages on the role settings API
(refusals are 400 with the field), the request reports its stage and each decision the stage it decided
and for whom; a delegation is given, used, listed and revoked through the API."""

from datetime import timedelta

from django.utils import timezone

from .conftest import eligible_of


def _post(persona, url, body=None):
    return persona.client().post(url, body or {}, format="json")


def test_two_stages_through_the_api(world, directory, requester_p, approver_p, admin_p, general_token_for):
    from .conftest import bearer

    second = directory.user("second")
    second_client = bearer(general_token_for(second))
    bad = _post(admin_p, "/api/v1/role-settings/stages/", {"reason": "test",
        "role": "user-administrator", "stages": [{"approvers": [approver_p.principal.pk], "approvals_required": 3}]})
    assert bad.status_code == 400, bad.json()
    assert bad.json()["error"]["field"] == "stages.1.approvals_required"
    set_ = _post(admin_p, "/api/v1/role-settings/stages/", {"reason": "test", "role": "user-administrator", "stages": [
        {"name": "Team", "approvers": [approver_p.principal.pk]},
        {"name": "Security", "approvers": [second.principal.pk], "timeout_minutes": 120}]})
    assert set_.status_code == 200, set_.json()
    assert [(st["position"], st["name"]) for st in set_.json()["stages"]] == [(1, "Team"), (2, "Security")]
    listed = admin_p.client().get("/api/v1/role-settings/", {"role": "user-administrator"}).json()["results"]
    assert any(len(row["stages"]) == 2 for row in listed)

    eligible = eligible_of(requester_p, "user-administrator")
    created = _post(requester_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible.pk,
                                                       "duration_minutes": 60, "justification": "x"}).json()
    request_id = created["request"]["id"]
    assert created["request"]["stage"] == 1
    assert second_client.post(f"/api/v1/approvals/{request_id}/approve/", {}, format="json").status_code in (403, 404)
    first = _post(approver_p, f"/api/v1/approvals/{request_id}/approve/", {"comment": "ok"}).json()
    assert first["status"] == "pending_approval" and first["stage"] == 2
    assert first["decisions"][0]["stage_position"] == 1
    done = second_client.post(f"/api/v1/approvals/{request_id}/approve/", {}, format="json").json()
    assert done["status"] == "provisioned"
    assert [d["stage_position"] for d in done["decisions"]] == [1, 2]


def test_a_delegation_through_the_api(world, directory, requester_p, approver_p, general_token_for):
    from .conftest import bearer

    deputy = directory.user("deputy")
    deputy_client = bearer(general_token_for(deputy))
    now = timezone.now()
    refused = _post(approver_p, "/api/v1/delegations/", {"delegate": "approver", "starts_at": now.isoformat(),
                                                         "ends_at": (now + timedelta(days=1)).isoformat()})
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "delegate"
    given = _post(approver_p, "/api/v1/delegations/", {"delegate": "deputy", "starts_at": now.isoformat(),
                                                       "ends_at": (now + timedelta(days=1)).isoformat(),
                                                       "reason": "holiday"})
    assert given.status_code == 201, given.json()
    delegation_id = given.json()["id"]
    assert [d["id"] for d in deputy_client.get("/api/v1/delegations/").json()["results"]] == [delegation_id]

    eligible = eligible_of(requester_p, "user-administrator")
    request_id = _post(requester_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible.pk,
                                                          "duration_minutes": 60, "justification": "x"}).json()[
        "request"]["id"]
    queue = deputy_client.get("/api/v1/approvals/").json()["results"]
    assert [r["id"] for r in queue] == [request_id]
    done = deputy_client.post(f"/api/v1/approvals/{request_id}/approve/", {}, format="json").json()
    assert done["status"] == "provisioned"
    assert done["decisions"][0]["approver"] == deputy.pk
    assert done["decisions"][0]["on_behalf_of"] == approver_p.user.pk

    revoked = _post(approver_p, f"/api/v1/delegations/{delegation_id}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert _post(approver_p, f"/api/v1/delegations/{delegation_id}/revoke/").status_code == 409
    assert _post(approver_p, "/api/v1/delegations/nonsense/revoke/").status_code == 404
