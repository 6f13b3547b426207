"""Reminders: 14 days and 1 day before an assignment ends, each sent once (guarded by
reminded_14d_at / reminded_1d_at); an extension re-arms them; activations get none."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import services
from assignments.models import Assignment
from notifications import reminders


def _reminders(outbox):
    return [(m.payload["context"]["assignment_id"], m.dedupe_key.split(":")[0], m.payload["to"])
            for m in outbox.rows("email/expiring")]


def test_each_reminder_once_at_14_days_and_at_1_day(directory, requester, outbox):
    start = timezone.now()
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible", end=start + timedelta(days=30))

    with time_machine.travel(start + timedelta(days=10), tick=False):
        assert reminders.assignments_remind().processed == 0
    with time_machine.travel(start + timedelta(days=16, hours=1), tick=False):
        assert reminders.assignments_remind().extra == {"1d": 0, "14d": 1}
        assert reminders.assignments_remind().processed == 0
    with time_machine.travel(start + timedelta(days=29, hours=1), tick=False):
        assert reminders.assignments_remind().extra == {"1d": 1, "14d": 0}
        assert reminders.assignments_remind().processed == 0

    assert _reminders(outbox) == [(eligibility.pk, "expiring14d", "requester@example.com"),
                                  (eligibility.pk, "expiring1d", "requester@example.com")]
    days = [m.payload["context"]["days"] for m in outbox.rows("email/expiring")]
    assert days == [14, 1]
    eligibility.refresh_from_db()
    assert eligibility.reminded_14d_at and eligibility.reminded_1d_at


def test_an_assignment_ending_within_a_day_gets_only_the_1_day_reminder(directory, requester, outbox):
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible",
                                  end=timezone.now() + timedelta(hours=20))

    reminders.assignments_remind()
    reminders.assignments_remind()

    assert [k for _, k, _ in _reminders(outbox)] == ["expiring1d"]
    eligibility.refresh_from_db()
    assert eligibility.reminded_14d_at is not None  # the 14-day one is spent with it


def test_an_extension_rearms_the_reminders(directory, global_admin, requester, outbox):
    start = timezone.now()
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible", end=start + timedelta(days=10))
    reminders.assignments_remind()
    services.assignment_extend(actor=global_admin, assignment=eligibility, end_at=start + timedelta(days=12),
                               mfa_verified_at=timezone.now())

    reminders.assignments_remind()

    to_requester = [k for _, k, to in _reminders(outbox) if to == "requester@example.com"]
    assert to_requester == ["expiring14d", "expiring14d"]  # one per end date
    assert {to for *_, to in _reminders(outbox)} == {"requester@example.com", "gadmin@example.com"}
    assert Assignment.objects.get(pk=eligibility.pk).reminded_14d_at is not None


def test_activations_get_no_reminders(directory, requester, policy, activate, outbox):
    policy("helpdesk-administrator")
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    activate(requester, eligibility, duration_minutes=60)

    assert reminders.assignments_remind().processed == 0
