"""The beat's job runs each source with a URL when its full run is due (then incremental runs in
between), skips paused and LDIF-only sources, and a source already running is not run again."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import DomainError
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySyncRun
from directory.tasks import ldap_sync_due

from .conftest import make_source


def test_full_then_incremental_runs_come_when_due(source):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert [r["kind"] for r in ldap_sync_due()] == ["full"]
        assert ldap_sync_due() == []  # nothing due a moment later
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        assert [(r["kind"], r["status"]) for r in ldap_sync_due()] == [("incremental", "succeeded")]
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert ldap_sync_due() == []
    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        assert [r["kind"] for r in ldap_sync_due()] == ["full"]
    assert DirectorySyncRun.objects.filter(source=source).count() == 3


def test_paused_and_ldif_only_sources_are_not_run(directory, slapd):
    make_source(slapd.url, enabled=False)
    make_source("", name="LDIF only")
    assert ldap_sync_due() == []


def test_a_source_that_is_running_is_not_run_again(source):
    DirectorySource.objects.filter(pk=source.pk).update(running_since=timezone.now())
    with pytest.raises(DomainError, match="in progress"):
        directory_sync_run(source=source, kind="full")
    assert ldap_sync_due() == []  # the beat leaves it to the run in progress
    # A claim left by a crashed worker is taken over after an hour.
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert [r["status"] for r in ldap_sync_due()] == ["succeeded"]
