"""Arbitrary JSON (Hypothesis-generated, shaped like SCIM bodies and not) sent to every write of the
endpoint is answered with a 2xx or an RFC 7644 4xx error body, never a 500."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .conftest import group_body, user_body

ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                    st.text(max_size=20), st.sampled_from(["True", "False", "work", "", "a@b.co"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)), max_leaves=8)
paths = st.one_of(st.none(), st.text(max_size=30), st.sampled_from([
    "active", "userName", "displayName", "name.givenName", "emails", 'emails[type eq "work"].value',
    "members", 'members[value eq "x"]', "externalId", "groups", "id", "urn:ietf:params:scim:schemas:core:2.0:User:name",
    "emails[type eq", "name.nope", "members.value"]))
operations = st.fixed_dictionaries({"op": st.one_of(st.sampled_from(["add", "Replace", "remove", "move"]), scalars)},
                                   optional={"path": paths, "value": json_values})
patch_bodies = st.one_of(json_values, st.fixed_dictionaries(
    {"schemas": st.just([PATCH]), "Operations": st.lists(operations, min_size=1, max_size=3)}))
user_keys = st.sampled_from(["userName", "active", "emails", "name", "displayName", "externalId", "groups", "id"])
user_bodies = st.one_of(json_values, st.dictionaries(user_keys, json_values, max_size=5),
                        st.builds(lambda extra: {**user_body("fuzz@example.com"), **extra},
                                  st.dictionaries(user_keys, json_values, max_size=2)))


def _check(status, body):
    assert status < 500, body
    if status >= 400:
        assert body["schemas"] == [ERROR] and body["status"] == str(status)


def test_arbitrary_bodies_never_500(scim, directory, django_db_blocker):
    user_id = scim.post("Users", user_body("target@example.com"))[1]["id"]
    group_id = scim.post("Groups", group_body("Target", members=[user_id]))[1]["id"]

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(user=user_bodies, patch=patch_bodies, group=json_values)
    def run(user, patch, group):
        for method, path, body in (("POST", "Users", user), ("PUT", f"Users/{user_id}", user),
                                   ("PATCH", f"Users/{user_id}", patch), ("PATCH", f"Groups/{group_id}", patch),
                                   ("POST", "Groups", group), ("PUT", f"Groups/{group_id}", group),
                                   ("POST", "Users/.search", user)):
            _check(*scim.request(method, path, raw=json.dumps(body).encode()))

    run()
