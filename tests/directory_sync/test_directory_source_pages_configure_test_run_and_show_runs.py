"""A Global Administrator adds an OpenLDAP source in the page (the bind password stored sealed, never
shown), tests its connection (what it found, or why not), runs a full sync (queued for the worker)
and reads the run with its counts. The pages are for directory administrators only, and saving asks
for a fresh MFA verification."""

from urllib.parse import urlparse

from django.test import Client
from django.urls import reverse

from assignments.models import User
from directory.ldap_client import PRESETS
from directory.models import DirectorySource, DirectorySyncRun
from tests.slapd import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD


def form_data(url: str, **extra) -> dict:
    data = {name: value for name, value in PRESETS["openldap"].items()}
    data.update({"name": "Corp LDAP", "enabled": "on", "preset": "openldap", "url": url, "bind_dn": ROOT_DN,
                 "password": ROOT_PASSWORD, "base_dns": f"{PEOPLE}\n{GROUPS}", "page_size": 500,
                 "timeout_seconds": 5, "full_every_minutes": 1440, "incremental_every_minutes": 15,
                 "min_entries_percent": 50, **extra})
    return data


def test_an_administrator_adds_tests_and_runs_a_source(directory, global_admin, verified_client, slapd,
                                                       eager_tasks, django_capture_on_commit_callbacks):
    client = verified_client(global_admin)
    page = client.get(reverse("ldap_sources:create") + "?preset=openldap")
    assert page.status_code == 200 and page.context["form"]["user_id_attribute"].value() == "entryUUID"

    response = client.post(reverse("ldap_sources:create"), form_data(slapd.url))
    assert response.status_code == 302, response.context["form"].errors
    source = DirectorySource.objects.get(name="Corp LDAP")
    assert source.bind_password_sealed and ROOT_PASSWORD not in source.bind_password_sealed
    detail = client.get(response["Location"])
    assert ROOT_PASSWORD.encode() not in detail.content and b"Stored (encrypted; not shown)" in detail.content

    client.post(reverse("ldap_sources:test", args=[source.pk]))
    tested = client.get(reverse("ldap_sources:detail", args=[source.pk]))
    assert tested.context["test_result"]["worked"] is True
    assert any("found a user" in line for line in tested.context["test_result"]["lines"])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("ldap_sources:run_now", args=[source.pk]), {"kind": "full"})
    run = DirectorySyncRun.objects.get(source=source)
    assert (run.status, run.users_created, run.started_by) == ("succeeded", 4, global_admin)
    assert User.objects.filter(principal__external_source=source.source_key).count() == 4
    shown = client.get(reverse("ldap_sources:run", args=[source.pk, run.pk]))
    assert b"4 created" in shown.content
    assert client.get(reverse("ldap_sources:runs", args=[source.pk])).status_code == 200
    listed = client.get(reverse("ldap_sources:list"))
    assert b"Corp LDAP" in listed.content and b"Succeeded" in listed.content


def test_a_failed_connection_test_says_why(directory, global_admin, verified_client, slapd):
    client = verified_client(global_admin)
    client.post(reverse("ldap_sources:create"), form_data(slapd.url, password="wrong"))
    source = DirectorySource.objects.get()
    client.post(reverse("ldap_sources:test", args=[source.pk]))
    result = client.get(reverse("ldap_sources:detail", args=[source.pk])).context["test_result"]
    assert result["worked"] is False and "InvalidCredentials" in result["lines"][0]


def test_bad_input_comes_back_as_field_errors(directory, global_admin, verified_client):
    client = verified_client(global_admin)
    response = client.post(reverse("ldap_sources:create"),
                           form_data("http://dc.example.com", base_dns="not a dn", user_filter="(uid=",
                                     start_tls="on"))
    assert response.status_code == 400
    assert not DirectorySource.objects.exists()
    errors = response.context["form"].errors
    assert {"url", "base_dns", "user_filter"} <= set(errors)  # every mistake at once


def test_only_directory_administrators_open_the_pages_and_saving_asks_for_a_step_up(directory, global_admin,
                                                                                   requester):
    client = Client()
    client.force_login(requester)
    assert client.get(reverse("ldap_sources:list")).status_code == 403
    client.force_login(global_admin)
    assert client.get(reverse("ldap_sources:list")).status_code == 200
    response = client.post(reverse("ldap_sources:create"), form_data("ldap://127.0.0.1:1"))
    assert response.status_code == 302 and urlparse(response["Location"]).path == "/account/verify/"
    assert not DirectorySource.objects.exists()


def test_editing_keeps_replaces_or_removes_the_password_and_is_audited(directory, global_admin, verified_client):
    from audit.models import AuditEvent
    from core.crypto import unseal

    client = verified_client(global_admin)
    client.post(reverse("ldap_sources:create"), form_data("ldaps://dc1.corp.example.com", password="pw-first-91"))
    source = DirectorySource.objects.get()
    detail = reverse("ldap_sources:detail", args=[source.pk])
    edit = {**form_data("ldaps://dc2.corp.example.com"), "password": ""}
    assert client.post(detail, edit).status_code == 302
    source.refresh_from_db()
    assert source.url == "ldaps://dc2.corp.example.com" and unseal(source.bind_password_sealed) == "pw-first-91"
    client.post(detail, {**edit, "password": "pw-second-92"})
    source.refresh_from_db()
    assert unseal(source.bind_password_sealed) == "pw-second-92"
    client.post(detail, {**edit, "remove_password": "on"})
    source.refresh_from_db()
    assert source.bind_password_sealed == ""
    events = AuditEvent.objects.filter(action="directory_source.update").order_by("seq")
    assert [e.after["bind_password"] for e in events] == ["(set)", "(changed)", ""]
    assert all("pw-first-91" not in str(e.after) and "pw-second-92" not in str(e.after) for e in events)
    both = client.post(detail, {**edit, "password": "x", "remove_password": "on"})
    assert both.status_code == 400
