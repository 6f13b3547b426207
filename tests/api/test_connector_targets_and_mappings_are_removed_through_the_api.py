"""The rest of a connector target's page in the API: remove a mapping, delete the target (privileged:
administrative token), retry an effect and fix drift of the target (unknown ones are 404, never another
target's); other personas are refused."""

import pytest

from audit.models import AuditEvent
from connectors.models import Mapping, Target

from .conftest import bearer
from .test_connectors_through_the_api_validate_on_save_and_never_return_the_secret import _config, pg_role  # noqa: F401

pytestmark = pytest.mark.django_db


def test_mapping_removed_then_target_deleted(admin_p, requester_p, directory, pg_role, general_token_for):  # noqa: F811
    api = admin_p.client()
    target_id = api.post("/api/v1/connectors/targets/", {
        "name": "Databases", "kind": "postgresql", "config": _config(), "secret": "pw"}, format="json").json()["id"]
    database = directory.scope("/subscriptions/s1/resourceGroups/rg1/providers/Sql/servers/x")
    mapping_id = api.post(f"/api/v1/connectors/targets/{target_id}/mappings/",
                          {"role": "owner", "scope": database.path, "grant": pg_role, "reason": "test"},
                          format="json").json()["id"]
    other = api.post("/api/v1/connectors/targets/", {"name": "Other", "kind": "postgresql", "config": _config(),
                                                     "secret": "pw"}, format="json").json()["id"]
    # Another target's mapping, effect or drift is not found through this one.
    assert api.post(f"/api/v1/connectors/targets/{other}/mappings/{mapping_id}/delete/").status_code == 404
    assert api.post(f"/api/v1/connectors/targets/{target_id}/effects/999999/retry/").status_code == 404
    assert api.post(f"/api/v1/connectors/targets/{target_id}/drift/999999/fix/", {"fix": "revoke"},
                    format="json").status_code == 404
    assert requester_p.client().post(f"/api/v1/connectors/targets/{target_id}/delete/").status_code == 403

    removed = api.post(f"/api/v1/connectors/targets/{target_id}/mappings/{mapping_id}/delete/", {"reason": "test"},
                       format="json")
    assert removed.status_code == 204
    assert not Mapping.objects.filter(pk=mapping_id).exists()
    general = bearer(general_token_for(admin_p.user)).post(f"/api/v1/connectors/targets/{target_id}/delete/")
    assert general.status_code == 403 and general.json()["error"]["field"] == "admin_mfa"
    assert api.post(f"/api/v1/connectors/targets/{target_id}/delete/").status_code == 204
    assert not Target.objects.filter(pk=target_id).exists()
    for action in ("connector_mapping.delete", "connector_target.delete"):
        assert AuditEvent.objects.filter(action=action, outcome="success", actor_id=admin_p.user.pk).exists()
