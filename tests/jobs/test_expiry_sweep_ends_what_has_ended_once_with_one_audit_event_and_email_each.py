"""The expiry sweep: set-based, in batches; each expired assignment is ended once, audited once and
announced once; what has not ended (or was ended otherwise) is left alone; access never waited."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments import sweeps
from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent


def test_expired_assignments_are_ended_audited_and_announced_once_across_batches(directory, requester, outbox):
    start = timezone.now()
    people = [directory.user(f"holder{i}") for i in range(5)]
    ending = [directory.grant(p, "helpdesk-administrator", kind="eligible", end=start + timedelta(hours=1))
              for p in people]
    lasting = directory.grant(requester, "helpdesk-administrator", kind="eligible", end=start + timedelta(days=3))
    permanent = directory.grant(directory.user("forever"), "helpdesk-administrator", kind="eligible")

    with time_machine.travel(start + timedelta(hours=2), tick=False):
        # Access already ended at end_at, before any sweep ran.
        assert access_find_grant(principal=people[0], role="helpdesk-administrator", scope="/") is None
        result = sweeps.assignments_expire(batch_size=2)
        again = sweeps.assignments_expire(batch_size=2)

    assert result.processed == 5 and result.batches == 3
    assert again.processed == 0
    for assignment in ending:
        assignment.refresh_from_db()
        assert assignment.status == Assignment.Status.ENDED
        assert assignment.end_reason == Assignment.EndReason.EXPIRED
        assert assignment.ended_at == assignment.end_at
    for assignment in (lasting, permanent):
        assignment.refresh_from_db()
        assert assignment.status == Assignment.Status.LIVE
    events = AuditEvent.objects.filter(action="assignment.expire")
    assert sorted(int(e.target_id) for e in events) == sorted(a.pk for a in ending)
    assert all(e.principal_label and e.role_label == "Helpdesk Administrator" and e.scope_path == "/"
               for e in events)
    expired = outbox.rows("email/expired")
    assert sorted(m.payload["to"] for m in expired) == sorted(f"holder{i}@example.com" for i in range(5))


def test_an_activation_that_runs_out_is_expired_quietly(directory, requester, policy, activate, outbox):
    policy("helpdesk-administrator")
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    activation = activate(requester, eligibility, duration_minutes=60).assignment

    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        assert sweeps.assignments_expire().processed == 1

    activation.refresh_from_db()
    assert activation.status == Assignment.Status.ENDED
    assert AuditEvent.objects.filter(action="assignment.expire", target_id=str(activation.pk)).count() == 1
    assert outbox.rows("email/expired") == []  # the holder chose the duration; no mail for the normal case
