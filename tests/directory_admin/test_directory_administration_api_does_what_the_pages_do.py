"""The REST API calls the same services as the pages: users (create, edit, offboard), scopes (create,
rename, move, delete when empty), custom roles (create, edit, delete), bulk import (dry run, apply,
idempotent) and export; refusals are 400/403/404/409 in the API's error body."""

import json

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from api import services as api_services
from assignments.models import Assignment, RoleDefinition, Scope, User
from audit.models import AuditEvent


def _client(user, purpose="administration") -> APIClient:
    token = api_services.token_create_personal(actor=user, name=f"{user.username}-{purpose}", purpose=purpose,
                                               mfa_verified_at=timezone.now())[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture
def api(global_admin):
    return _client(global_admin)


def test_users_through_the_api(api, directory):
    created = api.post("/api/v1/users/", {"username": "apiuser", "email": "apiuser@example.com",
                                          "time_zone": "Europe/Berlin"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["username"], body["time_zone"], body["sso_only"], body["enabled"]) == (
        "apiuser", "Europe/Berlin", True, True)
    again = api.post("/api/v1/users/", {"username": "APIUSER"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    bad = api.patch(f"/api/v1/users/{body['id']}/", {"time_zone": "Nowhere/Land"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "time_zone"
    user = User.objects.get(pk=body["id"])
    directory.grant(user, "helpdesk-administrator", kind="eligible")
    directory.grant(user, "reader", "/subscriptions/api", kind="active")
    offboarded = api.patch(f"/api/v1/users/{user.pk}/", {"enabled": False, "justification": "Left"}, format="json")
    assert offboarded.status_code == 200, offboarded.json()
    assert offboarded.json()["ended_assignments"] == 2 and offboarded.json()["enabled"] is False
    assert not Assignment.objects.filter(principal=user.principal, status="live").exists()
    assert AuditEvent.objects.filter(action="api.write", target_id=str(user.pk)).exists()
    assert api.get("/api/v1/users/999999/").status_code == 404


def test_scopes_through_the_api(api, directory):
    mg = api.post("/api/v1/scopes/", {"kind": "management_group", "parent": "/", "name": "api-mg"}, format="json")
    assert mg.status_code == 201, mg.json()
    sub = api.post("/api/v1/scopes/", {"kind": "subscription", "parent": "/", "name": "api-sub",
                                       "display_name": "API sub"}, format="json").json()
    wrong = api.post("/api/v1/scopes/", {"kind": "resource_group", "parent": "/", "name": "rg"}, format="json")
    assert wrong.status_code == 400 and wrong.json()["error"]["field"] == "parent"
    moved = api.patch(f"/api/v1/scopes/{sub['id']}/", {"parent": mg.json()["path"], "display_name": "Moved"},
                      format="json")
    assert moved.status_code == 200, moved.json()
    assert (moved.json()["parent_path"], moved.json()["display_name"]) == (mg.json()["path"], "Moved")
    cycle = api.patch(f"/api/v1/scopes/{mg.json()['id']}/", {"parent": sub["path"]}, format="json")
    assert cycle.status_code == 400
    not_empty = api.delete(f"/api/v1/scopes/{mg.json()['id']}/")
    assert not_empty.status_code == 409 and "child scope" in not_empty.json()["error"]["message"]
    assert api.delete(f"/api/v1/scopes/{sub['id']}/").status_code == 204
    assert not Scope.objects.filter(pk=sub["id"]).exists()


def test_custom_roles_through_the_api(api, role_admin):
    client = _client(role_admin)
    made = client.post("/api/v1/roles/", {"name": "Ticket triage", "kind": "directory",
                                          "actions": ["microsoft.directory/tickets/*"], "is_privileged": True},
                       format="json")
    assert made.status_code == 201, made.json()
    assert made.json()["slug"] == "ticket-triage" and made.json()["is_privileged"] is True
    edited = client.patch("/api/v1/roles/ticket-triage/", {"not_actions": ["microsoft.directory/tickets/delete"]},
                          format="json")
    assert edited.json()["not_actions"] == ["microsoft.directory/tickets/delete"]
    builtin = client.patch("/api/v1/roles/global-administrator/", {"name": "x"}, format="json")
    assert builtin.status_code == 403
    assert client.delete("/api/v1/roles/ticket-triage/").status_code == 204
    assert not RoleDefinition.objects.filter(slug="ticket-triage").exists()
    general = _client(role_admin, purpose="general")  # no MFA behind it: refused, and says how to get one
    refused = general.post("/api/v1/roles/", {"name": "Other", "kind": "directory", "actions": ["a/b"]},
                           format="json")
    assert refused.status_code == 403 and "administration" in refused.json()["error"]["message"]


def test_import_and_export_through_the_api(api, directory):
    document = {"scopes": [{"path": "/subscriptions/api-import", "kind": "subscription"}],
                "users": [{"username": "imported", "email": "not-an-address"}]}
    dry = api.post("/api/v1/directory/import/", {"content": json.dumps(document)}, format="json")
    assert dry.status_code == 200
    assert dry.json()["errors"] == [{"row": 1, "where": "users #1", "record": "user", "column": "email",
                                     "message": "not-an-address is not an email address."}]
    refused = api.post("/api/v1/directory/import/", {"content": json.dumps(document), "dry_run": False},
                       format="json")
    assert refused.status_code == 422 and refused.json()["applied"] is False
    assert not Scope.objects.filter(path="/subscriptions/api-import").exists()
    document["users"][0]["email"] = "imported@example.com"
    body = {"content": json.dumps(document), "dry_run": False}
    first = api.post("/api/v1/directory/import/", body, format="json").json()
    assert first["summary"] == "Applied: 2 created, 0 changed, 0 unchanged."
    second = api.post("/api/v1/directory/import/", body, format="json").json()
    assert second["summary"] == "No change: 0 created, 0 changed, 2 unchanged."
    unreadable = api.post("/api/v1/directory/import/", {"content": "{oops", "format": "json"}, format="json")
    assert unreadable.status_code == 400 and unreadable.json()["error"]["field"] == "file"

    exported = api.get("/api/v1/directory/export/", {"format": "csv"})
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    back = api.post("/api/v1/directory/import/", {"content": exported.content.decode(), "format": "csv",
                                                  "dry_run": False}, format="json").json()
    assert back["errors"] == [] and back["created"] == back["changed"] == 0


def test_people_without_the_roles_get_403(directory):
    client = _client(directory.user("plain"), purpose="general")
    for method, path, body in (("post", "/api/v1/users/", {"username": "x"}),
                               ("post", "/api/v1/scopes/", {"kind": "subscription", "parent": "/", "name": "x"}),
                               ("post", "/api/v1/roles/", {"name": "X", "kind": "directory", "actions": ["a/b"]}),
                               ("post", "/api/v1/directory/import/", {"content": "{}"}),
                               ("get", "/api/v1/directory/export/", None)):
        response = getattr(client, method)(path, body, format="json") if body else client.get(path)
        assert response.status_code == 403, (path, response.content)
        assert response.json()["error"]["code"] == "forbidden"
