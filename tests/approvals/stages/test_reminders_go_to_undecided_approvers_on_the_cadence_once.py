"""The reminder job reminds the approvers of a pending request's stage who have not decided, on the stage's
cadence (or the portal's default), once per period however often it runs; a stage with cadence 0 is never
reminded; the reminders are outbox rows written with their audit event."""

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from approvals import services, sweeps
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_reminders_follow_the_stage_cadence(directory, requester, stages, eligible, activate, approve, outbox):
    a1, a2, a3 = directory.user("a1"), directory.user("a2"), directory.user("a3")
    stages("helpdesk-administrator", [dict(approvers=[a1, a2, a3], approvals_required=2, reminder_every_minutes=60,
                                           timeout_minutes=24 * 60)])
    start = timezone.now()
    request = activate(requester, eligible(requester))
    approve(a1, request)
    assert services.request_remind_approvers() == 0, "not due yet"

    with time_machine.travel(start + timedelta(minutes=61), tick=False):
        assert sweeps.requests_remind_approvers() == 1
        assert sweeps.requests_remind_approvers() == 0, "the same period once"
    assert outbox.recipients("email/approval_reminder") == ["a2@example.com", "a3@example.com"]
    assert AuditEvent.objects.filter(action="request.remind", correlation_id=request.pk).count() == 1

    with time_machine.travel(start + timedelta(minutes=125), tick=False):
        assert services.request_remind_approvers() == 1
    assert len(outbox.rows("email/approval_reminder")) == 4


@override_settings(PIM_APPROVAL_REMINDER_MINUTES=30)
def test_the_default_cadence_and_a_stage_without_reminders(directory, requester, stages, eligible, activate,
                                                           policy, approver, outbox):
    silent = directory.user("silent")
    stages("helpdesk-administrator", [dict(approvers=[silent], reminder_every_minutes=0)])
    policy("exchange-administrator", require_approval=True, approvers=[approver])
    start = timezone.now()
    staged = activate(requester, eligible(requester))
    plain = activate(requester, eligible(requester, "exchange-administrator"))
    with time_machine.travel(start + timedelta(minutes=31), tick=False):
        assert services.request_remind_approvers() == 1
    assert outbox.recipients("email/approval_reminder") == ["approver@example.com"]
    assert staged.pk != plain.pk
