"""Retention is indefinite; `audit_purge --before DATE --confirm` is the one way to shorten the log.
It deletes the oldest events as a contiguous prefix, leaves a signed anchor, records itself, and
`audit_verify` passes afterwards, starting from the anchor."""

import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from audit.integrity import audit_chain_verify
from audit.models import AuditCheckpoint, AuditEvent
from audit.services import AuditIntegrityError, audit_checkpoint_create, audit_event_record, audit_purge

OLD = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
NEW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def aged_log(db):
    with time_machine.travel(OLD, tick=False):
        for n in range(5):
            audit_event_record(action="test.old", message=str(n))
        audit_checkpoint_create()
    with time_machine.travel(NEW, tick=False):
        for n in range(3):
            audit_event_record(action="test.new", message=str(n))
    return AuditEvent.objects.count()


def test_without_confirm_nothing_is_deleted(aged_log):
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("audit_purge", "--before", "2025-01-01", stdout=out)
    assert exit_.value.code != 0
    assert "--confirm" in out.getvalue()
    assert AuditEvent.objects.count() == aged_log


def test_purge_deletes_the_old_prefix_and_verify_starts_from_the_anchor(aged_log):
    old_count = AuditEvent.objects.filter(occurred_at__lt=datetime(2025, 1, 1, tzinfo=UTC)).count()
    with time_machine.travel(NEW + timedelta(days=1), tick=False):
        out = io.StringIO()
        call_command("audit_purge", "--before", "2025-01-01", "--confirm", "--reason", "retention policy",
                     stdout=out)
    assert f"Purged {old_count} events" in out.getvalue()
    assert not AuditEvent.objects.filter(occurred_at__lt=datetime(2025, 1, 1, tzinfo=UTC)).exists()
    anchor = AuditCheckpoint.objects.get(kind=AuditCheckpoint.Kind.PURGE)
    assert anchor.last_seq == old_count
    purge = AuditEvent.objects.get(action="audit.purge")
    assert purge.message == "retention policy"
    assert purge.after["deleted"] == old_count and purge.after["anchor_checkpoint"] == anchor.pk
    result = audit_chain_verify()
    assert result.ok, result.summary()
    assert result.first_seq == old_count + 1
    verify_out = io.StringIO()
    call_command("audit_verify", stdout=verify_out)
    assert verify_out.getvalue().startswith(f"intact: {result.verified} events verified from #{old_count + 1}")


def test_purge_stops_at_the_first_event_that_is_not_old_enough(db):
    """occurred_at is not strictly monotonic in seq; the purge keeps the remaining chain contiguous."""
    audit_event_record(action="test.a", occurred_at=OLD)
    audit_event_record(action="test.b", occurred_at=NEW)
    audit_event_record(action="test.c", occurred_at=OLD)  # old, but after a newer one: kept
    with time_machine.travel(NEW + timedelta(days=1), tick=False):
        summary = audit_purge(before=datetime(2025, 1, 1, tzinfo=UTC))
    assert summary["deleted"] == 1
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)[:2]) == ["test.b", "test.c"]
    assert audit_chain_verify().ok


def test_purging_twice_and_purging_nothing_keep_the_log_verifiable(aged_log):
    with time_machine.travel(NEW + timedelta(days=1), tick=False):
        audit_purge(before=datetime(2024, 6, 1, tzinfo=UTC))
        assert audit_purge(before=datetime(2024, 6, 1, tzinfo=UTC))["deleted"] == 0
        audit_purge(before=NEW + timedelta(hours=1))
    result = audit_chain_verify()
    assert result.ok, result.summary()


def test_a_purge_into_the_future_is_refused(aged_log):
    with pytest.raises(AuditIntegrityError):
        audit_purge(before=timezone.now() + timedelta(days=1))


def test_events_deleted_around_a_purge_anchor_are_still_caught(aged_log, postgres):
    from django.db import connection

    with time_machine.travel(NEW + timedelta(days=1), tick=False):
        audit_purge(before=datetime(2025, 1, 1, tzinfo=UTC))
    first = AuditEvent.objects.order_by("seq").first().seq
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER USER")
        cursor.execute("DELETE FROM audit_auditevent WHERE seq = %s", [first])
    result = audit_chain_verify()
    assert not result.ok and result.bad_seq == first and "missing" in result.reason
