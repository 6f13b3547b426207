"""Every service emits into the notification subscriber. If working out an email fails, the change
still commits (with its audit event); the failure is logged, and the transaction stays usable."""

import logging

from assignments.models import Assignment
from audit.models import AuditEvent
from notifications import events


def test_a_broken_notification_is_logged_and_the_assignment_still_commits(directory, requester, monkeypatch,
                                                                        caplog, outbox):
    def broken(name, payload):
        Assignment.objects.raw("SELECT no_such_column FROM assignments_assignment")[0]  # a database error

    monkeypatch.setattr(events, "_items", broken)
    with caplog.at_level(logging.ERROR, logger="notifications.events"):
        assignment = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    assert Assignment.objects.filter(pk=assignment.pk, status="live").exists()
    assert AuditEvent.objects.filter(action="assignment.create", target_id=str(assignment.pk)).exists()
    assert "Notifications for assignment.created were not queued" in caplog.text
    assert outbox.rows() == []
