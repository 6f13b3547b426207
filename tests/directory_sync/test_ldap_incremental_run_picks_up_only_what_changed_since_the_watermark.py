"""An incremental run reads only the entries changed at or after the last run's watermark (the highest
modifyTimestamp the server wrote), resolves a changed group's members through the DNs recorded by
earlier runs, and moves the watermark on. Without a watermark it is a full run."""

import ldap3

from assignments.models import Assignment, User
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySyncRun
from tests.slapd import group_dn, user_dn

FULL, INCREMENTAL = DirectorySyncRun.Kind.FULL, DirectorySyncRun.Kind.INCREMENTAL


def test_an_incremental_run_without_a_watermark_is_a_full_run(source):
    run = directory_sync_run(source=source, kind=INCREMENTAL)
    assert (run.kind, run.status, run.users_created) == (FULL, "succeeded", 4)


def test_an_incremental_run_picks_up_new_and_changed_entries(source, slapd):
    directory_sync_run(source=source, kind=FULL)
    first_watermark = DirectorySource.objects.get(pk=source.pk).watermark
    # The watermark is the server's clock, at a one-second resolution: the entries changed in the same
    # second as the full run are read again (harmless), older ones are not.
    slapd.add(user_dn("barbara"), "inetOrgPerson", {"uid": "barbara", "cn": "Barbara Liskov", "sn": "Liskov",
                                                      "mail": "barbara@example.org"})
    slapd.modify(user_dn("grace"), {"mail": [(ldap3.MODIFY_REPLACE, ["grace.hopper@example.org"])]})
    slapd.modify(group_dn("auditors"), {"member": [(ldap3.MODIFY_ADD, [user_dn("barbara"), user_dn("edsger")])]})

    run = directory_sync_run(source=source, kind=INCREMENTAL)
    assert (run.kind, run.status) == (INCREMENTAL, "succeeded"), run.error
    assert run.users_created == 1 and run.users_updated == 1
    assert run.users_read <= 5 and run.groups_read <= 2
    assert User.objects.get(username="grace").email == "grace.hopper@example.org"
    # alan was not read again in this run: his DN was resolved from the index of the full run.
    assert set(Assignment.objects.filter(scope__group__display_name="auditors", status="live")
               .values_list("principal__user__username", flat=True)) == {"alan", "barbara", "edsger"}
    assert run.watermark >= first_watermark
    assert DirectorySource.objects.get(pk=source.pk).watermark == run.watermark


def test_an_incremental_run_reads_nothing_older_than_the_watermark(source, slapd):
    directory_sync_run(source=source, kind=FULL)
    # A watermark after every entry's modifyTimestamp: nothing has changed since.
    DirectorySource.objects.filter(pk=source.pk).update(watermark="29991231235959Z")
    source.refresh_from_db()
    run = directory_sync_run(source=source, kind=INCREMENTAL)
    assert (run.status, run.users_read, run.groups_read) == ("succeeded", 0, 0)
    # An incremental run never disables what it did not read (deletions wait for the next full run).
    assert User.objects.filter(principal__external_source=source.source_key, is_active=True).count() == 4
