"""A connector mapping in the API: read one, change it with PUT (every field) or PATCH (some), always
with a reason; the new grant is checked against the target (an unknown one is a 400 naming the field);
an administrative token is needed; another target's mapping is not found; other personas are refused."""

import psycopg
import pytest

from audit.models import AuditEvent
from connectors.models import Mapping
from policy.models import ConfigVersion

from .conftest import bearer
from .test_connectors_through_the_api_validate_on_save_and_never_return_the_secret import _config, pg_role  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_pg_role(pg_role):  # noqa: F811
    admin = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True,
                            connect_timeout=3)
    name = f"{pg_role}_b"
    admin.execute(f'CREATE ROLE "{name}" NOLOGIN')
    yield name
    admin.execute(f'DROP ROLE IF EXISTS "{name}"')
    admin.close()


def test_a_mapping_is_read_and_changed_with_put_and_patch(admin_p, requester_p, directory, pg_role,  # noqa: F811
                                                         second_pg_role, general_token_for):
    api = admin_p.client()
    target_id = api.post("/api/v1/connectors/targets/", {
        "name": "Databases", "kind": "postgresql", "config": _config(), "secret": "pw"}, format="json").json()["id"]
    other = api.post("/api/v1/connectors/targets/", {"name": "Other", "kind": "postgresql", "config": _config(),
                                                     "secret": "pw"}, format="json").json()["id"]
    database = directory.scope("/subscriptions/s1/resourceGroups/rg1/providers/Sql/servers/x")
    mapping_id = api.post(f"/api/v1/connectors/targets/{target_id}/mappings/",
                          {"role": "owner", "scope": database.path, "grant": pg_role, "reason": "database owners"},
                          format="json").json()["id"]
    url = f"/api/v1/connectors/targets/{target_id}/mappings/{mapping_id}/"

    assert api.get(url).json()["grant"] == pg_role
    assert api.get(f"/api/v1/connectors/targets/{other}/mappings/{mapping_id}/").status_code == 404
    assert requester_p.client().patch(url, {"grant": second_pg_role, "reason": "x"},
                                      format="json").status_code == 403

    unexplained = api.patch(url, {"grant": second_pg_role}, format="json")
    assert unexplained.status_code == 400 and unexplained.json()["error"]["field"] == "reason"
    unknown = api.patch(url, {"grant": "no_such_role_here", "reason": "typo"}, format="json")
    assert unknown.status_code == 400 and unknown.json()["error"]["field"] == "grant"
    general = bearer(general_token_for(admin_p.user)).patch(url, {"grant": second_pg_role, "reason": "x"},
                                                            format="json")
    assert general.status_code == 403 and general.json()["error"]["field"] == "admin_mfa"
    assert Mapping.objects.get(pk=mapping_id).grant == pg_role

    patched = api.patch(url, {"grant": second_pg_role, "reason": "the owners' role was renamed"}, format="json")
    assert patched.status_code == 200, patched.json()
    assert patched.json()["grant"] == second_pg_role and patched.json()["scope"] == database.path

    put = api.put(url, {"role": "owner", "scope": database.path, "grant": second_pg_role,
                        "options": {"terminate_sessions": True}, "reason": "cut sessions at the end"}, format="json")
    assert put.status_code == 200 and put.json()["options"] == {"terminate_sessions": True}
    incomplete = api.put(url, {"grant": pg_role, "reason": "back"}, format="json")
    assert incomplete.status_code == 400

    assert AuditEvent.objects.filter(action="connector_mapping.update", outcome="success").count() == 2
    version = ConfigVersion.objects.filter(kind="connector_mapping", key__endswith=f"|{second_pg_role}").first()
    assert version.reason == "cut sessions at the end" and version.data["options"] == {"terminate_sessions": True}
