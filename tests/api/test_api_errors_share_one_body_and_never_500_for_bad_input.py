import uuid

import pytest


def _error(response):
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "field"}
    return body["error"]


def test_validation_error_names_the_field(world, admin_p):
    response = admin_p.client().post("/api/v1/assignments/", {"principal": "nobody", "role": "reader",
                                                              "scope": "/", "kind": "eligible"}, format="json")
    assert response.status_code == 400
    error = _error(response)
    assert error == {"code": "invalid", "message": "No such principal: nobody.", "field": "principal"}


def test_domain_errors_keep_their_code_and_status(world, admin_p, directory):
    target = directory.user("target")
    body = {"principal": target.principal.pk, "role": "exchange-administrator", "scope": "/", "kind": "eligible",
            "justification": "x"}
    client = admin_p.client()
    assert client.post("/api/v1/assignments/", body, format="json").status_code == 201
    conflict = client.post("/api/v1/assignments/", body, format="json")
    assert conflict.status_code == 409
    assert _error(conflict)["code"] == "conflict"
    wrong_scope = client.post("/api/v1/assignments/", {**body, "scope": "/subscriptions/s1"}, format="json")
    assert wrong_scope.status_code == 400 and _error(wrong_scope)["code"] == "invalid"


def test_unknown_ids_are_404_with_the_error_body(world, requester_p):
    client = requester_p.client()
    assert _error(client.get("/api/v1/assignments/999999/"))["code"] == "not_found"
    assert _error(client.get(f"/api/v1/requests/{uuid.uuid4()}/"))["code"] == "not_found"
    assert client.get("/api/v1/assignments/?cursor=garbage").status_code == 404


@pytest.mark.parametrize("payload", [
    "not json",
    [],
    {"action": "nope"},
    {"action": "self_activate"},
    {"action": "self_activate", "assignment": "x"},
    {"action": "self_activate", "assignment": 2**70},
    {"action": "admin_assign", "principal": {"a": 1}},
    {"action": "admin_assign", "principal": "\x00", "role": "reader"},
    {"action": "admin_update", "assignment": 1, "end_at": "yesterday"},
    {"action": "self_extend", "assignment": 1, "duration_minutes": -5},
])
def test_bad_request_bodies_are_4xx(world, admin_p, requester_p, payload):
    for persona in (admin_p, requester_p):
        if payload == "not json":
            response = persona.client().post("/api/v1/requests/", "{", content_type="application/json")
        else:
            response = persona.client().post("/api/v1/requests/", payload, format="json")
        assert 400 <= response.status_code < 500, (payload, response.status_code, response.content)
        _error(response)


def test_bad_filters_are_400(world, admin_p, auditor_p):
    assert admin_p.client().get("/api/v1/assignments/", {"kind": "sometimes"}).status_code == 400
    assert admin_p.client().get("/api/v1/assignments/", {"role": "999999"}).status_code == 400
    response = auditor_p.client().get("/api/v1/audit/events/", {"outcome": "maybe"})
    assert response.status_code == 400 and _error(response)["code"] == "invalid"


def test_method_not_allowed_uses_the_body(world, admin_p):
    response = admin_p.client().delete("/api/v1/roles/")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
