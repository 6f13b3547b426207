"""Credentials, groups and service principals through the API, with the pages' services: an administrator's
administrative token creates a group and a service principal, issues the service principal a credential
(shown once, no-store) that then works, issues and revokes a SCIM client's token; a general token cannot
mint tokens (it carries no fresh verification); people revoke their own tokens; others see none of it."""

from api.models import ApiToken
from audit.models import AuditEvent
from directory.models import ScimToken

from .conftest import bearer


def _post(client, url, body=None):
    return client.post(url, body or {}, format="json")


def test_an_administrator_creates_a_service_principal_and_its_credential(world, admin_p, requester_p, sp_p):
    api = admin_p.client()
    group = _post(api, "/api/v1/groups/", {"display_name": "Release managers", "description": "ship it"})
    assert group.status_code == 201, group.json()
    assert group.json()["kind"] == "group" and group.json()["role_assignable"] is False
    assert api.get(f"/api/v1/principals/{group.json()['id']}/").json()["display_name"] == "Release managers"
    made = _post(api, "/api/v1/service-principals/", {"display_name": "release-pipeline"})
    assert made.status_code == 201, made.json()
    sp_id = made.json()["id"]

    created = _post(api, "/api/v1/api-tokens/", {"name": "pipeline", "service_principal": sp_id, "days": 7})
    assert created.status_code == 201, created.json()
    assert created["Cache-Control"] == "no-store"
    secret = created.json()["secret"]
    assert secret.startswith("pim_") and created.json()["kind"] == "service_principal"
    stored = ApiToken.objects.get(pk=created.json()["id"])
    assert secret not in stored.secret_hash and stored.principal_id == sp_id
    assert bearer(secret).get("/api/v1/ping").json()["principal"] == sp_id
    listed = api.get("/api/v1/api-tokens/").json()
    assert created.json()["id"] in {t["id"] for t in listed} and all("secret" not in t for t in listed)
    assert AuditEvent.objects.filter(action="api.token_create", outcome="success").exists()

    revoked = _post(api, f"/api/v1/api-tokens/{stored.pk}/revoke/")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert bearer(secret).get("/api/v1/ping").status_code == 401

    # Nobody else: a requester cannot create groups or service principals, a machine cannot mint credentials.
    assert _post(requester_p.client(), "/api/v1/service-principals/", {"display_name": "x"}).status_code == 403
    assert _post(sp_p.client(), "/api/v1/api-tokens/", {"name": "more"}).status_code == 403
    assert _post(requester_p.client(), "/api/v1/api-tokens/", {"name": "x", "service_principal": sp_id}
                 ).status_code == 403


def test_a_general_token_cannot_mint_tokens_but_revokes_its_owners(world, requester_p, admin_p):
    refused = _post(requester_p.client(), "/api/v1/api-tokens/", {"name": "another"})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "admin_mfa"
    mine = ApiToken.objects.get(user=requester_p.user)
    theirs = ApiToken.objects.filter(user=admin_p.user).first()
    assert _post(requester_p.client(), f"/api/v1/api-tokens/{theirs.pk}/revoke/").status_code == 404
    assert [t["id"] for t in requester_p.client().get("/api/v1/api-tokens/").json()] == [mine.pk]
    own = _post(requester_p.client(), f"/api/v1/api-tokens/{mine.pk}/revoke/")
    assert own.status_code == 200
    assert requester_p.client().get("/api/v1/ping").status_code == 401  # that was the token in use


def test_scim_clients_and_their_tokens(world, admin_p, auditor_p, general_token_for):
    api = admin_p.client()
    client = _post(api, "/api/v1/scim-clients/", {"name": "Entra ID production"})
    assert client.status_code == 201, client.json()
    client_id = client.json()["id"]
    assert _post(api, "/api/v1/scim-clients/", {"name": "entra id production"}).status_code == 409
    issued = _post(api, f"/api/v1/scim-clients/{client_id}/tokens/", {"expires_in_days": 90})
    assert issued.status_code == 201 and issued["Cache-Control"] == "no-store"
    secret = issued.json()["secret"]
    assert secret.startswith("scim_")
    from django.test import Client

    scim = Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"})
    assert scim.status_code == 200
    general = bearer(general_token_for(admin_p.user))
    refused = _post(general, f"/api/v1/scim-clients/{client_id}/tokens/", {"expires_in_days": 90})
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "admin_mfa"
    token_id = issued.json()["id"]
    # Revoking needs the role, not a step-up: taking a credential away never waits.
    revoked = _post(general, f"/api/v1/scim-clients/{client_id}/tokens/{token_id}/revoke/")
    assert revoked.status_code == 200 and ScimToken.objects.get(pk=token_id).revoked_at is not None
    assert Client().get("/scim/v2/Users", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert [t["id"] for t in api.get(f"/api/v1/scim-clients/{client_id}/tokens/").json()] == [token_id]
    assert auditor_p.client().get("/api/v1/scim-clients/").status_code == 403
