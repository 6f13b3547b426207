"""Input that trips Python's own parsers is the client's fault: a 400 with the API's error body.

'³' passes str.isdigit() but int() refuses it; JSON nested 1,000 levels deep exhausts the recursion limit.
"""

import pytest

SUPERSCRIPT_THREE = "\u00b3"


def _error(response):
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "field"}
    return body["error"]


@pytest.mark.parametrize("path", [
    f"/api/v1/check?principal=admin&role={SUPERSCRIPT_THREE}",
    f"/api/v1/check?principal={SUPERSCRIPT_THREE}&role=reader",
    f"/api/v1/assignments/{SUPERSCRIPT_THREE}/",
    f"/api/v1/audit/events/?actor={SUPERSCRIPT_THREE}",
    f"/api/v1/audit/events/?actor=%23{SUPERSCRIPT_THREE}",
])
def test_unicode_digit_in_a_query_or_path_is_a_client_error(world, admin_p, path):
    response = admin_p.client().get(path)
    assert response.status_code < 500, (path, response.status_code)
    if response.status_code != 200:
        assert 400 <= response.status_code < 500
        _error(response)
    else:
        assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("field", ["principal", "role", "scope"])
def test_unicode_digit_as_a_reference_in_a_body_is_400_naming_the_field(world, admin_p, field):
    body = {"principal": admin_p.principal.pk, "role": "reader", "scope": "/", "kind": "eligible",
            field: SUPERSCRIPT_THREE}
    response = admin_p.client().post("/api/v1/assignments/", body, format="json")
    assert response.status_code == 400
    assert _error(response)["field"] == field


def test_unicode_digit_in_the_audit_pages_is_not_a_server_error(client, world, admin_p):
    client.force_login(admin_p.user)
    for query in (f"before_seq={SUPERSCRIPT_THREE}", f"actor={SUPERSCRIPT_THREE}", f"role=%23{SUPERSCRIPT_THREE}"):
        assert client.get(f"/audit/?{query}").status_code == 200, query
        assert client.get(f"/audit/mine/?{query}").status_code == 200, query


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_json_nested_too_deep_is_400_on_any_json_post(world, admin_p, requester_p, depth):
    body = "[" * depth + "]" * depth
    for persona, path in ((admin_p, "/api/v1/assignments/"), (requester_p, "/api/v1/requests/")):
        response = persona.client().post(path, body, content_type="application/json")
        assert response.status_code == 400, (path, response.status_code)
        error = _error(response)
        assert error["code"] == "invalid" and "nested" in error["message"]


def test_json_within_the_depth_limit_still_reaches_validation(world, admin_p):
    response = admin_p.client().post("/api/v1/assignments/", {"principal": {"a": [[{"b": 1}]]}}, format="json")
    assert response.status_code == 400
    assert _error(response)["field"] == "principal"
