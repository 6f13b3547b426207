"""ETags (RFC 7644 §3.14): every user and group carries `meta.version` and the same value in the
`ETag` header; a PUT, PATCH or DELETE with `If-Match` naming another version is refused with 412 and
changes nothing (checked under the resource's lock), the current version or `*` goes through, and a
GET with `If-None-Match` naming the current version is a 304. ServiceProviderConfig says so."""

import pytest

from assignments.models import Principal
from audit.models import AuditEvent

from .conftest import group_body, user_body

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _rename(value):
    return {"schemas": [PATCH], "Operations": [{"op": "replace", "path": "displayName", "value": value}]}


def test_each_write_moves_the_version_and_a_stale_if_match_is_refused(scim):
    status, created = scim.post("Users", user_body("dana@contoso.com"))
    assert status == 201
    first = created["meta"]["version"]
    response = scim.http.get(f"/scim/v2/Users/{created['id']}", headers=scim.headers)
    assert response["ETag"] == first

    status, changed = scim.request("PATCH", f"Users/{created['id']}", _rename("Dana One"), headers={"If-Match": first})
    assert status == 200 and changed["meta"]["version"] != first
    second = changed["meta"]["version"]

    # Another client's write went in between: the first version is stale now.
    status, body = scim.request("PATCH", f"Users/{created['id']}", _rename("Dana Two"), headers={"If-Match": first})
    assert status == 412 and second in body["detail"]
    status, body = scim.request("PUT", f"Users/{created['id']}", user_body("dana@contoso.com", displayName="X"),
                                headers={"If-Match": first})
    assert status == 412
    status, _ = scim.request("DELETE", f"Users/{created['id']}", headers={"If-Match": first})
    assert status == 412
    principal = Principal.objects.select_related("user").get(object_id=created["id"])
    assert principal.user.display_name == "Dana One" and principal.user.is_active
    assert not AuditEvent.objects.filter(action="scim.user_delete").exists()

    status, _ = scim.request("PUT", f"Users/{created['id']}", user_body("dana@contoso.com", displayName="Dana Three"),
                             headers={"If-Match": f'"{second[3:-1]}", W/"999"'})
    assert status == 200
    status, _ = scim.request("DELETE", f"Users/{created['id']}", headers={"If-Match": "*"})
    assert status == 204


def test_group_writes_check_the_version_too(scim):
    status, group = scim.post("Groups", group_body("Finance"))
    version = group["meta"]["version"]
    status, _ = scim.request("PATCH", f"Groups/{group['id']}", _rename("Finance EU"), headers={"If-Match": 'W/"99"'})
    assert status == 412
    assert Principal.objects.get(object_id=group["id"]).display_name == "Finance"
    status, body = scim.request("PATCH", f"Groups/{group['id']}", _rename("Finance EU"), headers={"If-Match": version})
    assert status == 200 and body["meta"]["version"] != version
    status, _ = scim.request("DELETE", f"Groups/{group['id']}", headers={"If-Match": version})
    assert status == 412


def test_if_none_match_with_the_current_version_is_a_304(scim):
    _, created = scim.post("Users", user_body("erin@contoso.com"))
    version = created["meta"]["version"]
    response = scim.http.get(f"/scim/v2/Users/{created['id']}", headers={**scim.headers, "If-None-Match": version})
    assert response.status_code == 304 and response.content == b"" and response["ETag"] == version
    response = scim.http.get(f"/scim/v2/Users/{created['id']}", headers={**scim.headers, "If-None-Match": 'W/"0"'})
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["ServiceProviderConfig"])
def test_service_provider_config_says_etags_are_supported(scim, path):
    status, body = scim.get(path)
    assert status == 200 and body["etag"] == {"supported": True}
