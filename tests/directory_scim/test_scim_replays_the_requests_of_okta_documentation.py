"""The requests Okta sends, replayed from Okta's documentation: "SCIM 2.0 protocol reference" and
"Build a SCIM provisioning integration" (developer.okta.com/docs/api/openapi/okta-scim/guides/scim-20,
developer.okta.com/docs/guides/scim-provisioning-integration-prepare): create a user (with the
password and locale Okta may send, which the portal does not keep), find it by userName with
startIndex/count, replace it with PUT, deactivate it with a pathless replace of `active`, create a
group, rename it with a pathless replace that repeats its id, add members, remove one with
`members[value eq "…"]`, replace the members, delete the group.

The bodies are written out from those documents; the ids they carry are the ones this server gave.
"""

from assignments.models import Assignment, Principal

from .conftest import Scim, make_client

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def _okta_user(user_name="test.user@okta.local", external_id="00ujl29u0le5T6Aj10h7"):
    return {"schemas": [USER], "userName": user_name, "name": {"givenName": "Test", "familyName": "User"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}], "displayName": "Test User",
            "locale": "en-US", "externalId": external_id, "groups": [], "password": "1mz050nq", "active": True}


def test_user_lifecycle(directory):
    _, token = make_client("Okta")
    scim = Scim(token)
    status, created = scim.post("Users", _okta_user())
    assert status == 201, created
    assert "password" not in created and "locale" not in created
    status, found = scim.get("Users", filter='userName eq "test.user@okta.local"', startIndex=1, count=100)
    assert status == 200 and found["totalResults"] == 1 and found["startIndex"] == 1
    assert found["Resources"][0]["id"] == created["id"]

    replaced = {**_okta_user(), "id": created["id"], "name": {"givenName": "Another", "familyName": "User"}}
    status, body = scim.put(f"Users/{created['id']}", replaced)
    assert status == 200 and body["name"] == {"givenName": "Another", "familyName": "User"}

    status, body = scim.patch(f"Users/{created['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": False}}]})
    assert status == 200 and body["active"] is False
    user = Principal.objects.select_related("user").get(object_id=created["id"]).user
    assert user.is_active is False
    # Reactivation is the same call with true.
    status, body = scim.patch(f"Users/{created['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"active": True}}]})
    assert status == 200 and body["active"] is True
    user.refresh_from_db()
    assert user.is_active is True


def test_group_push(directory):
    _, token = make_client("Okta")
    scim = Scim(token)
    first = scim.post("Users", _okta_user())[1]["id"]
    second = scim.post("Users", _okta_user("second.user@okta.local", "00ujl29u0le5T6Aj10h8"))[1]["id"]
    status, group = scim.post("Groups", {"schemas": [GROUP], "displayName": "Test SCIMv2", "members": []})
    assert status == 201, group
    group_id = group["id"]
    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {"id": group_id, "displayName": "Test SCIMv2 renamed"}}]})
    assert status == 200 and body["displayName"] == "Test SCIMv2 renamed"

    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"value": first, "display": "test.user@okta.local"},
                                                   {"value": second, "display": "second.user@okta.local"}]}]})
    assert status == 200 and {m["value"] for m in body["members"]} == {first, second}

    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{first}"]'}]})
    assert status == 200 and [m["value"] for m in body["members"]] == [second]

    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "members", "value": [{"value": first, "display": "test.user@okta.local"}]}]})
    assert status == 200 and [m["value"] for m in body["members"]] == [first]
    live = Assignment.objects.filter(scope__group__object_id=group_id, status="live")
    assert [str(a.principal.object_id) for a in live] == [first]

    status, found = scim.get("Groups", filter='displayName eq "Test SCIMv2 renamed"')
    assert status == 200 and found["totalResults"] == 1
    assert scim.delete(f"Groups/{group_id}")[0] == 204
    assert not Assignment.objects.filter(scope__group__object_id=group_id, status="live").exists()
