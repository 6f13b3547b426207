"""The audit log is append-only: the ORM, the admin and (on PostgreSQL) the database refuse to
update or delete events and checkpoints."""

import pytest
from django.contrib.admin.sites import site
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory

from audit.models import AppendOnlyError, AuditCheckpoint, AuditEvent
from audit.services import audit_checkpoint_create


@pytest.fixture
def event(events):
    return AuditEvent.objects.order_by("seq").first()


def test_the_queryset_refuses_update_delete_and_bulk_writes(event):
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.filter(pk=event.pk).update(justification="x")
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_update([event], ["justification"])
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.bulk_create([AuditEvent(seq=10**9, occurred_at=event.occurred_at)])
    with pytest.raises(AppendOnlyError):
        AuditEvent.objects.update(justification="x")


def test_an_instance_cannot_be_saved_again_or_deleted(event):
    event.justification = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).justification != "rewritten"


def test_checkpoints_are_append_only_too(events):
    checkpoint = audit_checkpoint_create()
    with pytest.raises(AppendOnlyError):
        AuditCheckpoint.objects.filter(pk=checkpoint.pk).update(last_seq=0)
    with pytest.raises(AppendOnlyError):
        checkpoint.delete()


def test_the_admin_is_read_only(event, global_admin):
    request = RequestFactory().get("/admin/")
    request.user = global_admin
    for model in (AuditEvent, AuditCheckpoint):
        model_admin = site._registry[model]
        assert not model_admin.has_add_permission(request)
        assert not model_admin.has_change_permission(request, event)
        assert not model_admin.has_delete_permission(request, event)


def _raw(statement, params):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_the_database_refuses_update_of_events_and_checkpoints(event):
    """PostgreSQL and SQLite both carry an UPDATE trigger."""
    checkpoint = audit_checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("UPDATE audit_auditcheckpoint SET last_seq = 0 WHERE id = %s", [checkpoint.pk])


def test_postgresql_refuses_delete_of_events_and_checkpoints(event, postgres):
    checkpoint = audit_checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditcheckpoint WHERE id = %s", [checkpoint.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_postgresql_lets_only_the_purge_flag_through_and_only_for_events(event, postgres):
    checkpoint = audit_checkpoint_create()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL pim.audit_purge = 'on'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("UPDATE audit_auditevent SET justification = 'x' WHERE id = %s", [event.pk])
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute("DELETE FROM audit_auditcheckpoint WHERE id = %s", [checkpoint.pk])
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
        assert cursor.rowcount == 1
        transaction.set_rollback(True)


def test_sqlite_refuses_delete_of_checkpoints_and_of_events_no_purge_anchor_covers(event):
    """SQLite has no TRUNCATE and no session flag: its DELETE trigger lets through only events a purge
    anchor covers (audit_purge inserts its signed anchor first)."""
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite triggers")
    checkpoint = audit_checkpoint_create()
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError, match="append-only"):
        _raw("DELETE FROM audit_auditcheckpoint WHERE id = %s", [checkpoint.pk])
    assert AuditEvent.objects.filter(pk=event.pk).exists()
