"""A run whose server is down, from the start or half-way through its paged reads, changes nothing:
it is recorded `failed` with the reason, the audit log says so, and one high-severity incident is
raised for the source (refreshed, not duplicated, by further failures) and cleared by the next
successful run."""

import ldap3

from alerts.definitions import DIRECTORY_SYNC_REFUSED
from alerts.models import Incident
from assignments.models import Principal, User
from audit.models import AuditEvent
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySyncRun
from tests.slapd import free_port, user_dn

from .conftest import make_source

FULL = DirectorySyncRun.Kind.FULL


def test_a_server_that_does_not_answer_fails_the_run(directory):
    source = make_source(f"ldap://127.0.0.1:{free_port()}", timeout_seconds=2)
    run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "failed" and "Cannot connect" in run.error
    assert run.finished_at is not None and run.users_created == 0
    incident = Incident.objects.get(alert_key=DIRECTORY_SYNC_REFUSED, is_current=True)
    assert incident.severity == "high" and source.name in incident.title
    assert AuditEvent.objects.filter(action="directory_sync.failed").exists()

    again = directory_sync_run(source=source, kind=FULL)
    assert again.status == "failed"
    assert Incident.objects.filter(alert_key=DIRECTORY_SYNC_REFUSED).count() == 1
    assert Incident.objects.get(alert_key=DIRECTORY_SYNC_REFUSED).data["run_ids"] == [run.pk, again.pk]
    assert not DirectorySource.objects.get(pk=source.pk).running_since  # the claim is released


def test_a_wrong_password_fails_the_run(directory, slapd):
    from core.crypto import seal

    source = make_source(slapd.url, bind_password_sealed=seal("not-the-password"))
    run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "failed" and "InvalidCredentials" in run.error


def state(source) -> dict:
    users = User.objects.filter(principal__external_source=source.source_key)
    return {user.username: (user.email, user.is_active) for user in users}


def test_the_server_going_down_mid_run_changes_nothing(source, slapd):
    directory_sync_run(source=source, kind=FULL)
    before = state(source)
    slapd.modify(user_dn("ada"), {"mail": [(ldap3.MODIFY_REPLACE, ["ada.new@example.org"])]})
    DirectorySource.objects.filter(pk=source.pk).update(page_size=2)
    source.refresh_from_db()
    pages = []

    def stop_after_the_first_page(entries: int) -> None:
        pages.append(entries)
        if len(pages) == 1:
            slapd.stop()

    run = directory_sync_run(source=source, kind=FULL, on_page=stop_after_the_first_page)
    assert pages == [2]  # one page of two users read, then the server was gone
    assert run.status == "failed" and "Reading" in run.error, run.error
    assert state(source) == before  # nobody updated, nobody disabled for "missing" from a half read
    assert Principal.objects.filter(external_source=source.source_key, kind="group").count() == 2
    assert Incident.objects.filter(alert_key=DIRECTORY_SYNC_REFUSED, is_current=True).count() == 1

    slapd.start()
    recovered = directory_sync_run(source=source, kind=FULL)
    assert recovered.status == "succeeded" and recovered.users_updated == 1
    incident = Incident.objects.get(alert_key=DIRECTORY_SYNC_REFUSED)
    assert (incident.status, incident.is_current) == ("cleared", False)
