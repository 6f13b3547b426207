"""Every refusal of the SCIM endpoint is an RFC 7644 §3.12 error body (`schemas`, `status` as a
string, `scimType` where one applies, `detail`) with the same HTTP status; bad input is never a 500
and never half applied."""

import pytest

from assignments.models import Principal, User

from .conftest import Scim, group_body, make_client, user_body

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _is_error(status, body, expected, scim_type=None):
    assert status == expected, body
    assert body["schemas"] == [ERROR] and body["status"] == str(expected) and body["detail"]
    if scim_type:
        assert body["scimType"] == scim_type, body


def test_uniqueness_conflicts_are_409(scim, directory):
    assert scim.post("Users", user_body("dup@example.com", externalId="e1"))[0] == 201
    _is_error(*scim.post("Users", user_body("DUP@example.com")), 409, "uniqueness")
    _is_error(*scim.post("Users", user_body("other@example.com", externalId="e1")), 409, "uniqueness")
    second = scim.post("Users", user_body("second@example.com"))[1]["id"]
    _is_error(*scim.patch(f"Users/{second}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "userName", "value": "dup@example.com"}]}), 409, "uniqueness")
    _is_error(*scim.put(f"Users/{second}", user_body("second@example.com", externalId="e1")), 409, "uniqueness")
    assert scim.post("Groups", group_body("G", externalId="g1"))[0] == 201
    _is_error(*scim.post("Groups", group_body("H", externalId="g1")), 409, "uniqueness")


def test_a_user_of_another_source_or_an_emergency_access_account_is_not_taken_over(scim, directory):
    from assignments import services
    from core.actors import Actor

    services.user_create(username="breakglass", is_emergency_access=True, actor=Actor.system("test-setup"))
    _is_error(*scim.post("Users", user_body("breakglass")), 409, "uniqueness")
    _, other_token = make_client("Other directory")
    assert Scim(other_token).post("Users", user_body("theirs@example.com"))[0] == 201
    _is_error(*scim.post("Users", user_body("theirs@example.com")), 409, "uniqueness")


def test_unknown_ids_and_paths_are_404(scim, directory):
    _is_error(*scim.get("Users/8d1e5a5c-3b7e-4f0a-9e55-000000000000"), 404)
    _is_error(*scim.get("Users/not-a-uuid"), 404)
    _is_error(*scim.delete("Groups/not-a-uuid"), 404)
    _is_error(*scim.get("Nothing/here"), 404)
    _is_error(*scim.get("Schemas/urn:nope"), 404)
    _is_error(*scim.get("ResourceTypes/Device"), 404)
    _is_error(*scim.request("POST", ".search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}),
              501)
    _is_error(*scim.request("DELETE", "Users"), 405)


@pytest.mark.parametrize("raw, scim_type", [
    (b"", "invalidSyntax"), (b"{not json", "invalidSyntax"), (b"[1, 2]", "invalidSyntax"),
    (b"[" * 100_000 + b"]" * 100_000, "invalidSyntax"), (b'"just a string"', "invalidSyntax"),
    (b'{"userName": 42}', "invalidValue"), (b'{"userName": ""}', "invalidValue"),
    (b'{"userName": "x", "active": "perhaps"}', "invalidValue"),
    (b'{"userName": "x", "emails": "a@b.c"}', "invalidValue"),
    (b'{"userName": "x", "emails": [{"value": "not an address"}]}', "invalidValue"),
    (b'{"userName": "x", "emails": [{"value": "a@b.co", "primary": true}, {"value": "c@d.co", "primary": true}]}',
     "invalidValue"),
    (b'{"userName": "x", "name": "Ann"}', "invalidValue"),
    (b'{"userName": "' + b"x" * 200 + b'"}', "invalidValue"),
])
def test_bad_user_bodies_are_400(scim, directory, raw, scim_type):
    users = User.objects.count()
    _is_error(*scim.request("POST", "Users", raw=raw), 400, scim_type)
    assert User.objects.count() == users


@pytest.mark.parametrize("body, scim_type", [
    ({"schemas": [PATCH]}, "invalidSyntax"),
    ({"schemas": [PATCH], "Operations": []}, "invalidSyntax"),
    ({"schemas": ["urn:wrong"], "Operations": [{"op": "add", "path": "displayName", "value": "x"}]}, "invalidSyntax"),
    ({"schemas": [PATCH], "Operations": [{"op": "move", "path": "displayName", "value": "x"}]}, "invalidSyntax"),
    ({"schemas": [PATCH], "Operations": [{"op": "remove"}]}, "noTarget"),
    ({"schemas": [PATCH], "Operations": [{"op": "add", "path": "displayName"}]}, "invalidValue"),
    ({"schemas": [PATCH], "Operations": [{"op": "add", "path": "emails[type eq", "value": "x"}]}, "invalidPath"),
    ({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "id", "value": "x"}]}, "mutability"),
    ({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "groups", "value": []}]}, "mutability"),
    ({"schemas": [PATCH], "Operations": [{"op": "remove", "path": "userName"}]}, "invalidValue"),
    ({"schemas": [PATCH], "Operations": [{"op": "replace", "value": "not an object"}]}, "invalidValue"),
    ({"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "replace", "path": "active", "value": "sometimes"}]}, "invalidValue"),
])
def test_bad_patches_are_400_and_change_nothing(scim, directory, body, scim_type):
    user_id = scim.post("Users", user_body("patched@example.com", displayName="Original"))[1]["id"]
    _is_error(*scim.patch(f"Users/{user_id}", body), 400, scim_type)
    assert Principal.objects.get(object_id=user_id).display_name == "Original"


@pytest.mark.parametrize("params", [
    {"filter": 'userName eq "a\x00b"'}, {"startIndex": "1e99"}, {"count": "-"}, {"filter": "\x00"},
    {"filter": 'emails[value eq "x"'}, {"filter": 'externalId gt 5'},
])
def test_bad_list_parameters_are_400(scim, directory, params):
    status, body = scim.get("Users", **params)
    _is_error(status, body, 400)


def test_nul_characters_and_odd_unicode_in_bodies_are_handled(scim, directory):
    status, body = scim.post("Users", user_body("nul\x00name@example.com", displayName="N\x00ul \U0001F600"))
    assert status == 201, body
    assert body["userName"] == "nulname@example.com" and body["displayName"] == "Nul \U0001F600"
    status, body = scim.post("Users", user_body("x@example.com", emails=[{"value": "a\x00@b.co", "type": "w\x00"}]))
    assert status == 201 and body["emails"] == [{"value": "a@b.co", "type": "w"}]


def test_bad_group_patches_are_400(scim, directory):
    group_id = scim.post("Groups", group_body("Team"))[1]["id"]
    _is_error(*scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "remove", "path": "displayName"}]}), 400, "mutability")
    _is_error(*scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": 'members[value eq "x"]', "value": [{"value": "x"}]}]}), 400, "invalidPath")
    _is_error(*scim.patch(f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
        {"op": "add", "path": "members", "value": [{"display": "no value"}]}]}), 400, "invalidValue")
    _is_error(*scim.post("Groups", {"displayName": "  "}), 400, "invalidValue")
