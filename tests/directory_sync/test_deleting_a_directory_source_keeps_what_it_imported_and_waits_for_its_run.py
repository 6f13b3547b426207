"""Deleting an LDAP source from its page: a confirmation page says what stays; the deletion is
audited with how many users and groups it released; those users, groups and memberships stay as
they were (nobody disabled, no membership ended) but are no longer synced (their external source is
cleared, so a later source links the users again by username); its runs go with it. While a run is in
progress the deletion is refused with the reason and changes nothing. Directory administrators only,
with a fresh MFA verification."""

from datetime import timedelta
from urllib.parse import urlparse

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment, Principal, User
from audit.models import AuditEvent
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySyncRun

from .conftest import make_source

FULL = DirectorySyncRun.Kind.FULL


def test_deleting_a_source_releases_what_it_imported(directory, global_admin, verified_client, source):
    assert directory_sync_run(source=source, kind=FULL).status == "succeeded"
    key = source.source_key
    memberships = set(Assignment.objects.filter(origin="directory", status="live").values_list("pk", flat=True))
    client = verified_client(global_admin)

    page = client.get(reverse("ldap_sources:delete", args=[source.pk]))
    assert page.status_code == 200
    assert page.context["imported"] == {"users": 4, "groups": 2, "running": False}
    assert b"no longer synced" in page.content

    response = client.post(reverse("ldap_sources:delete", args=[source.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("ldap_sources:list")
    assert not DirectorySource.objects.filter(pk=source.pk).exists()
    assert not DirectorySyncRun.objects.filter(source_id=source.pk).exists()
    assert not Principal.objects.filter(external_source=key).exists()
    ada = User.objects.get(username="ada")
    assert ada.is_active and ada.principal.external_source == "" and ada.principal.external_id == ""
    assert set(Assignment.objects.filter(origin="directory", status="live").values_list("pk", flat=True)) == memberships
    event = AuditEvent.objects.get(action="directory_source.delete")
    assert event.actor_id == global_admin.pk and event.after == {"released": {"users": 4, "groups": 2}}
    assert event.target_label == "Example OpenLDAP"

    # The same directory added again links the same people by username instead of refusing them.
    again = make_source(source.url, name="Example OpenLDAP again")
    run = directory_sync_run(source=again, kind=FULL)
    assert run.status == "succeeded", run.error
    assert run.users_created == 0 and User.objects.get(username="ada").principal.external_source == again.source_key


def test_a_source_with_a_run_in_progress_is_not_deleted(directory, global_admin, verified_client, source):
    directory_sync_run(source=source, kind=FULL)
    DirectorySource.objects.filter(pk=source.pk).update(running_since=timezone.now() - timedelta(minutes=3))
    client = verified_client(global_admin)
    assert client.get(reverse("ldap_sources:delete", args=[source.pk])).context["imported"]["running"] is True

    response = client.post(reverse("ldap_sources:delete", args=[source.pk]))
    assert response.status_code == 409 and b"in progress" in response.content
    assert DirectorySource.objects.filter(pk=source.pk).exists()
    assert Principal.objects.filter(external_source=source.source_key).count() == 6
    refused = AuditEvent.objects.get(action="directory_source.delete")
    assert refused.outcome == "denied"

    # A claim left by a crashed worker (older than any run) does not block the deletion.
    DirectorySource.objects.filter(pk=source.pk).update(running_since=timezone.now() - timedelta(hours=2))
    assert client.post(reverse("ldap_sources:delete", args=[source.pk])).status_code == 302


def test_only_directory_administrators_delete_and_with_a_fresh_verification(directory, global_admin, requester,
                                                                              source):
    client = Client()
    client.force_login(requester)
    assert client.post(reverse("ldap_sources:delete", args=[source.pk])).status_code == 403
    client.force_login(global_admin)  # signed in, but no fresh MFA verification
    response = client.post(reverse("ldap_sources:delete", args=[source.pk]))
    assert response.status_code == 302 and urlparse(response["Location"]).path == "/account/verify/"
    assert DirectorySource.objects.filter(pk=source.pk).exists()
