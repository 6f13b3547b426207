"""LDAP directory sources through the API, against a real slapd: an administrator's administrative token
configures a source (the bind password is write-only), tests the connection, queues a full run (the
worker runs it: eager here), imports an LDIF file and reads the runs. The page's rules hold: only directory
administrators, privileged changes need an administrative token, a service principal manages none, and
every change is audited with the token's "api.write"."""

import pytest

from assignments.models import User
from audit.models import AuditEvent
from directory.models import DirectorySource, DirectorySyncRun
from tests.directory_sync.conftest import GROUP_LIST, USERS
from tests.slapd import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, ldif_for, start_slapd, stop_slapd

from .conftest import bearer


@pytest.fixture
def slapd():
    server = start_slapd(ldif_for(users=USERS, groups=GROUP_LIST))
    yield server
    stop_slapd(server)


@pytest.fixture
def eager_tasks():
    from pim_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def _body(url: str) -> dict:
    return {"name": "Corp LDAP", "preset": "openldap", "url": url, "bind_dn": ROOT_DN, "password": ROOT_PASSWORD,
            "base_dns": f"{PEOPLE}\n{GROUPS}", "timeout_seconds": 5}


def test_an_administrator_configures_tests_runs_and_reads_a_source(world, admin_p, slapd, eager_tasks,
                                                                   django_capture_on_commit_callbacks):
    api = admin_p.client()
    created = api.post("/api/v1/directory-sources/", _body(slapd.url), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["has_password"] is True and "password" not in body and ROOT_PASSWORD not in created.content.decode()
    assert body["user_id_attribute"] == "entryUUID"  # from the preset
    source_id = body["id"]
    assert AuditEvent.objects.filter(action="directory_source.create", target_id=str(source_id)).exists()
    assert AuditEvent.objects.filter(action="api.write", outcome="success", target_id=str(source_id)).exists()

    tested = api.post(f"/api/v1/directory-sources/{source_id}/test/")
    assert tested.status_code == 200 and tested.json()["ok"] is True, tested.json()
    assert any("found a user" in line for line in tested.json()["lines"])

    with django_capture_on_commit_callbacks(execute=True):
        queued = api.post(f"/api/v1/directory-sources/{source_id}/run/", {"kind": "full"}, format="json")
    assert queued.status_code == 202, queued.json()
    run = DirectorySyncRun.objects.get(source_id=source_id)
    assert (run.status, run.users_created, run.started_by_id) == ("succeeded", 4, admin_p.user.pk)
    assert User.objects.filter(principal__external_source=DirectorySource.objects.get(pk=source_id).source_key
                               ).count() == 4

    runs = api.get(f"/api/v1/directory-sources/{source_id}/runs/")
    assert runs.status_code == 200
    assert [r["id"] for r in runs.json()["results"]] == [run.pk]
    one = api.get(f"/api/v1/directory-sources/{source_id}/runs/{run.pk}/").json()
    assert (one["status"], one["users_created"], one["started_by"]) == ("succeeded", 4, admin_p.user.username)
    listed = api.get("/api/v1/directory-sources/").json()
    assert [(s["name"], s["last_run_status"]) for s in listed] == [("Corp LDAP", "succeeded")]

    changed = api.patch(f"/api/v1/directory-sources/{source_id}/", {"incremental_every_minutes": 0}, format="json")
    assert changed.status_code == 200 and changed.json()["incremental_every_minutes"] == 0
    assert changed.json()["has_password"] is True  # omitted: kept
    bad = api.patch(f"/api/v1/directory-sources/{source_id}/", {"user_filter": "(((not a filter"}, format="json")
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "user_filter"

    # An LDIF file goes through the same safety rules: one with no entries is refused, nothing changes.
    with django_capture_on_commit_callbacks(execute=True):
        imported = api.post(f"/api/v1/directory-sources/{source_id}/import/",
                            {"content": "version: 1\n\n# nothing exported\n", "name": "empty.ldif"}, format="json")
    assert imported.status_code == 202, imported.json()
    latest = DirectorySyncRun.objects.filter(source_id=source_id).latest("pk")
    assert (latest.kind, latest.status) == ("ldif", "refused"), latest.error
    assert User.objects.filter(principal__external_source=DirectorySource.objects.get(pk=source_id).source_key,
                               is_active=True).count() == 4

    # Deleting the source keeps what it imported: its users stay, enabled, released from the sync.
    key = DirectorySource.objects.get(pk=source_id).source_key
    imported = set(User.objects.filter(principal__external_source=key).values_list("pk", flat=True))
    deleted = api.delete(f"/api/v1/directory-sources/{source_id}/")
    assert deleted.status_code == 200, deleted.json()
    assert deleted.json()["users"] == 4
    assert not DirectorySource.objects.filter(pk=source_id).exists()
    assert set(User.objects.filter(pk__in=imported, is_active=True, principal__external_source="")
               .values_list("pk", flat=True)) == imported
    assert AuditEvent.objects.filter(action="directory_source.delete", target_id=str(source_id)).exists()
    assert api.delete(f"/api/v1/directory-sources/{source_id}/").status_code == 404


def test_the_pages_rules_hold_for_every_caller(world, admin_p, requester_p, auditor_p, sp_p, general_token_for):
    refused = bearer(general_token_for(admin_p.user)).post("/api/v1/directory-sources/",
                                                            _body("ldap://127.0.0.1:1"), format="json")
    assert refused.status_code == 403 and refused.json()["error"]["field"] == "admin_mfa"
    assert "administration" in refused.json()["error"]["message"]
    assert not DirectorySource.objects.exists()
    assert AuditEvent.objects.filter(action="directory_source.create", outcome="denied").exists()
    for persona in (requester_p, auditor_p, sp_p):
        assert persona.client().get("/api/v1/directory-sources/").status_code == 403
        assert persona.client().post("/api/v1/directory-sources/", _body("ldap://127.0.0.1:1"),
                                     format="json").status_code == 403
    assert admin_p.client().get("/api/v1/directory-sources/99999/").status_code == 404
    assert admin_p.client().post("/api/v1/directory-sources/", {"name": "x", "url": "http://x"},
                                 format="json").status_code == 400
