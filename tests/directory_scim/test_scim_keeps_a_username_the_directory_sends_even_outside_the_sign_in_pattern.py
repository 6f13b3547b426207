"""A SCIM userName is the directory's: one with a space or an apostrophe, which an administrator could
not type on the New user page, is created as sent, found again by `userName eq`, and changed by PATCH."""

import pytest

from assignments.models import User

from .conftest import user_body

pytestmark = pytest.mark.django_db

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.mark.parametrize("user_name", ["Anne O'Neil", "anne marie@contoso.example", "x/y;z"])
def test_scim_creates_finds_and_changes_the_user_as_the_directory_spells_them(scim, user_name):
    status, body = scim.post("/Users", user_body(user_name, emails=[{"value": "anne@contoso.example",
                                                                    "primary": True}]))
    assert status == 201, body
    assert User.objects.filter(username=user_name).count() == 1
    status, found = scim.get("/Users", filter=f'userName eq "{user_name}"')
    assert status == 200 and [r["id"] for r in found["Resources"]] == [body["id"]]
    status, patched = scim.patch(f"/Users/{body['id']}", {"schemas": [PATCH], "Operations": [
        {"op": "replace", "path": "displayName", "value": "Anne"}]})
    assert status == 200 and patched["displayName"] == "Anne"


def test_a_username_longer_than_the_column_is_a_scim_400(scim):
    status, body = scim.post("/Users", user_body("z" * 151))
    assert status == 400 and body["status"] == "400", body
