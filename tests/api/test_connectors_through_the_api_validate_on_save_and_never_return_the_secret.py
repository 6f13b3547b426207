"""Connectors in the API: an administrator's administrative token creates a PostgreSQL target (the
password is write-only), tests it, maps a role (checked against the server: an unknown role is a 400
naming the field) and reads effects; a general token cannot configure; other personas are refused."""

import secrets

import psycopg
import pytest

from connectors.models import Target

pytestmark = pytest.mark.django_db


@pytest.fixture
def pg_role():
    admin = psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True,
                            connect_timeout=3)
    name = "pimapi" + secrets.token_hex(4)
    admin.execute(f'CREATE ROLE "{name}" NOLOGIN')
    yield name
    admin.execute(f'DROP ROLE IF EXISTS "{name}"')
    admin.close()


def _config(**overrides):
    return {"host": "127.0.0.1", "port": 5432, "dbname": "postgres", "user": "postgres", "sslmode": "disable",
            "login_template": "{username}", **overrides}


def test_an_administrator_configures_a_target_through_the_api(admin_p, requester_p, auditor_p, directory, pg_role):
    client = admin_p.client()
    response = client.post("/api/v1/connectors/targets/", {"name": "Databases", "kind": "postgresql",
                                                           "config": _config(), "secret": "s3cret-password"},
                           format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["has_secret"] is True and "secret" not in body and "s3cret-password" not in response.content.decode()
    target_id = body["id"]

    tested = client.post(f"/api/v1/connectors/targets/{target_id}/test/").json()
    assert tested["ok"] is True and "Connected as postgres" in tested["message"]

    database = directory.scope("/subscriptions/s1/resourceGroups/rg1/providers/Sql/servers/x")
    refused = client.post(f"/api/v1/connectors/targets/{target_id}/mappings/",
                          {"role": "owner", "scope": database.path, "grant": "no_such_role_xyz", "reason": "test"},
                          format="json")
    assert refused.status_code == 400 and "does not exist" in refused.content.decode()
    created = client.post(f"/api/v1/connectors/targets/{target_id}/mappings/",
                          {"role": "owner", "scope": database.path, "grant": pg_role, "reason": "test",
                           "options": {"terminate_sessions": True}}, format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["options"] == {"terminate_sessions": True}
    assert client.get(f"/api/v1/connectors/targets/{target_id}/effects/").json() == []

    bad = client.post("/api/v1/connectors/targets/", {"name": "Bad", "kind": "postgresql",
                                                      "config": _config(port=0, login_template="x")}, format="json")
    assert bad.status_code == 400
    assert not Target.objects.filter(name="Bad").exists()

    for persona in (requester_p, auditor_p):
        assert persona.client().get("/api/v1/connectors/targets/").status_code == 403
    assert client.get("/api/v1/connectors/targets/nope/").status_code == 404
