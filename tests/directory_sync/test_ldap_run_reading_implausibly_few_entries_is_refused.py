"""A full run that reads fewer entries than the source's minimum share (default 50%) of the last
successful run — a filter typo, a bind account that lost read access, half the directory gone —
changes nothing, is recorded `refused` and raises the incident. With the share lowered it applies."""

from alerts.definitions import DIRECTORY_SYNC_REFUSED
from alerts.models import Incident
from assignments.models import User
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySyncRun
from tests.slapd import user_dn

FULL = DirectorySyncRun.Kind.FULL


def test_a_run_with_under_half_the_entries_is_refused(source, slapd):
    assert directory_sync_run(source=source, kind=FULL).entries_read == 6
    for uid in ("ada", "grace", "alan"):
        slapd.delete(user_dn(uid))
    DirectorySource.objects.filter(pk=source.pk).update(group_filter="(cn=nothing-matches)")
    source.refresh_from_db()

    run = directory_sync_run(source=source, kind=FULL)
    assert (run.status, run.users_read, run.groups_read) == ("refused", 1, 0)
    assert "implausible" in run.error
    assert User.objects.filter(principal__external_source=source.source_key, is_active=True).count() == 4
    assert Incident.objects.filter(alert_key=DIRECTORY_SYNC_REFUSED, is_current=True).exists()

    DirectorySource.objects.filter(pk=source.pk).update(min_entries_percent=0)
    source.refresh_from_db()
    applied = directory_sync_run(source=source, kind=FULL)
    assert (applied.status, applied.users_disabled) == ("succeeded", 3)
    assert not Incident.objects.filter(alert_key=DIRECTORY_SYNC_REFUSED, is_current=True).exists()


def test_the_guard_compares_with_the_last_successful_run_only(source, slapd):
    directory_sync_run(source=source, kind=FULL)
    slapd.delete(user_dn("ada"))  # 5 of 6 entries: plausible
    assert directory_sync_run(source=source, kind=FULL).status == "succeeded"
