"""The requests Microsoft Entra ID sends, replayed from Microsoft's documentation:

- "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID"
  (learn.microsoft.com/entra/identity/app-provisioning/use-scim-to-provision-users-and-groups),
  section "User operations" and "Group operations": Create User, Get User by query, Update User
  [Multi-valued properties], Update User [Single-valued properties], Disable User, Delete User,
  Create Group, Update Group [Non-member attributes], Update Group [Add Members], Update Group
  [Remove Members];
- "Known issues and resolutions with SCIM 2.0 protocol compliance of the Microsoft Entra user
  provisioning service" (learn.microsoft.com/entra/identity/app-provisioning/
  application-provisioning-config-problem-scim-compatibility): the older shapes still sent without
  the `aadOptscim062020` flag (`active` as the string "False", member removal with a `value` list)
  and the newer ones (a pathless replace whose keys are paths, `members[value eq "…"]`).

The bodies are written out from those documents; the ids they carry are the ones this server gave
(the documents show their own test server's ids).
"""

from assignments.models import Assignment, Principal

from .conftest import Scim, make_client

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _create_entra_user(scim, suffix="ab6490ee-1e48-479e-a20b-2d77186b5dd1", external_id=None):
    status, body = scim.post("Users", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id or "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": f"Test_User_{suffix}",
        "active": True,
        "emails": [{"primary": True, "type": "work",
                    "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
    })
    assert status == 201, body
    return body


def test_create_user_then_get_it_by_query(directory):
    _, token = make_client()
    scim = Scim(token)
    created = _create_entra_user(scim)
    assert created["userName"] == "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"
    assert created["name"] == {"formatted": "givenName familyName", "familyName": "familyName",
                               "givenName": "givenName"}
    assert created["active"] is True and created["meta"]["resourceType"] == "User"
    status, found = scim.get("Users", filter='userName eq "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"')
    assert status == 200 and found["totalResults"] == 1 and found["Resources"][0]["id"] == created["id"]
    # "Get User by query - Zero results"
    status, none = scim.get("Users", filter='userName eq "non-existent user"')
    assert status == 200 and none["totalResults"] == 0 and none["Resources"] == []
    # The same userName again is a uniqueness conflict.
    status, conflict = scim.post("Users", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                           "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1"})
    assert status == 409 and conflict["scimType"] == "uniqueness" and conflict["status"] == "409"


def test_update_user_multi_valued_and_single_valued_properties(directory):
    _, token = make_client()
    scim = Scim(token)
    user_id = _create_entra_user(scim)["id"]
    status, body = scim.patch(f"Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    ]})
    assert status == 200, body
    assert body["emails"] == [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}]
    assert body["name"]["familyName"] == "updatedFamilyName"
    principal = Principal.objects.select_related("user").get(object_id=user_id)
    assert principal.user.email == principal.email == "updatedEmail@microsoft.com"

    status, body = scim.patch(f"Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "userName", "value": "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"}]})
    assert status == 200, body
    assert body["userName"] == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"
    principal.user.refresh_from_db()
    assert principal.user.username == "5b50642d-79fc-4410-9e90-4c077cdd1a59@testuser.com"


def test_pathless_replace_whose_keys_are_paths_and_an_added_attribute_the_portal_does_not_keep(directory):
    _, token = make_client()
    scim = Scim(token)
    user_id = _create_entra_user(scim)["id"]
    status, body = scim.patch(f"Users/{user_id}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "value": {
            "displayName": "Pvlo", "emails[type eq \"work\"].value": "TestBcwqnm@test.microsoft.com",
            "name.givenName": "Gtfd", "name.familyName": "Pkqf", "externalId": "Eqpj",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Eqpj"}},
        {"op": "Add", "path": "nickName", "value": "Babs"},  # the older shape; nickName is not kept
        {"op": "add", "value": {"nickName": "Babs"}},  # the newer one
    ]})
    assert status == 200, body
    assert body["displayName"] == "Pvlo" and body["externalId"] == "Eqpj"
    assert body["name"] == {"formatted": "givenName familyName", "givenName": "Gtfd", "familyName": "Pkqf"}
    assert body["emails"][0]["value"] == "TestBcwqnm@test.microsoft.com"
    assert "nickName" not in body
    assert Principal.objects.get(object_id=user_id).display_name == "Pvlo"


def test_disable_user_with_a_boolean_and_with_the_string_false(directory):
    _, token = make_client()
    scim = Scim(token)
    first = _create_entra_user(scim)["id"]
    second = _create_entra_user(scim, suffix="second", external_id="5e5c4a2e-0000-4000-8000-000000000002")["id"]
    status, body = scim.patch(f"Users/{first}", {"Operations": [{"op": "Replace", "path": "active", "value": False}],
                                                 "schemas": [PATCH]})
    assert status == 200 and body["active"] is False
    status, body = scim.patch(f"Users/{second}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "False"}]})
    assert status == 200 and body["active"] is False
    assert not Principal.objects.filter(object_id__in=[first, second], enabled=True).exists()
    status, body = scim.patch(f"Users/{second}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "active", "value": "Maybe"}]})
    assert status == 400 and body["scimType"] == "invalidValue"


def test_delete_user_answers_204_and_the_user_is_gone_from_scim_but_kept_disabled(directory):
    _, token = make_client()
    scim = Scim(token)
    user_id = _create_entra_user(scim)["id"]
    status, body = scim.delete(f"Users/{user_id}")
    assert status == 204 and body is None
    assert scim.get(f"Users/{user_id}")[0] == 404
    principal = Principal.objects.select_related("user").get(object_id=user_id)
    assert principal.user.is_active is False and principal.enabled is False


def test_group_create_rename_add_and_remove_members(directory):
    _, token = make_client()
    scim = Scim(token)
    alice = _create_entra_user(scim, suffix="alice", external_id="ext-alice")["id"]
    bob = _create_entra_user(scim, suffix="bob", external_id="ext-bob")["id"]
    status, group = scim.post("Groups", {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    })
    assert status == 201, group
    group_id = group["id"]
    status, found = scim.get("Groups", filter='displayName eq "displayName"', excludedAttributes="members")
    assert status == 200 and [r["id"] for r in found["Resources"]] == [group_id]

    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]})
    assert status == 200 and body["displayName"] == "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"

    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": alice}, {"$ref": None, "value": bob}]}]})
    assert status == 200, body
    assert {m["value"] for m in body["members"]} == {alice, bob}
    memberships = Assignment.objects.filter(scope__group__object_id=group_id, status="live")
    assert {(a.kind, a.origin, a.end_at) for a in memberships} == {("active", "directory", None)}

    # Entra ID asks whether a user is a member with a filter on id and members.
    status, check = scim.get("Groups", filter=f'id eq "{group_id}" and members eq "{alice}"',
                             excludedAttributes="members")
    assert status == 200 and check["totalResults"] == 1

    # Remove Members, the older shape: path "members" with a value list.
    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "Remove", "path": "members", "value": [{"$ref": None, "value": alice}]}]})
    assert status == 200 and [m["value"] for m in body["members"]] == [bob]
    # The newer shape: a value filter in the path.
    status, body = scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": f'members[value eq "{bob}"]'}]})
    assert status == 200 and "members" not in body
    assert not Assignment.objects.filter(scope__group__object_id=group_id, status="live").exists()
    status, check = scim.get("Groups", filter=f'id eq "{group_id}" and members eq "{alice}"')
    assert status == 200 and check["totalResults"] == 0


def test_delete_group_ends_its_directory_memberships(directory):
    _, token = make_client()
    scim = Scim(token)
    alice = _create_entra_user(scim, suffix="alice", external_id="ext-alice")["id"]
    status, group = scim.post("Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                         "displayName": "Sales", "members": [{"value": alice}]})
    assert status == 201 and group["members"][0]["value"] == alice
    assert scim.delete(f"Groups/{group['id']}")[0] == 204
    assert scim.get(f"Groups/{group['id']}")[0] == 404
    assert not Assignment.objects.filter(scope__group__object_id=group["id"], status="live").exists()
