"""acks_late means a task may be delivered again (worker lost, visibility timeout). Running each job
task a second time at the same moment changes nothing: no row, audit event or email more."""

from datetime import timedelta

import time_machine
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from approvals import tasks as approval_tasks
from approvals.models import Request
from assignments import tasks as assignment_tasks
from assignments.models import Assignment
from audit.models import AuditEvent
from notifications import tasks as notification_tasks
from notifications.models import OutboxMessage


def _state():
    return {
        "assignments": sorted(Assignment.objects.values_list("pk", "status", "end_reason", "reminded_14d_at",
                                                             "reminded_1d_at")),
        "requests": sorted((str(pk), status) for pk, status in Request.objects.values_list("pk", "status")),
        "audit": AuditEvent.objects.count(),
        "outbox": sorted(OutboxMessage.objects.values_list("pk", "status", "attempts")),
        "sent": len(mail.outbox),
    }


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_every_job_task_run_twice_changes_nothing_the_second_time(directory, global_admin, requester, policy,
                                                                 activate):
    start = timezone.now()
    policy("helpdesk-administrator", require_approval=True, approvers=[global_admin])
    directory.grant(directory.user("expiring"), "helpdesk-administrator", kind="eligible",
                    end=start + timedelta(hours=1))
    directory.grant(directory.user("reminded"), "helpdesk-administrator", kind="eligible",
                    end=start + timedelta(days=5))
    directory.grant(directory.user("later"), "exchange-administrator", kind="eligible",
                    start=start + timedelta(hours=1))
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    pending = activate(requester, eligibility)
    assert pending.status == Request.Status.PENDING_APPROVAL

    jobs = [approval_tasks.requests_start_scheduled, assignment_tasks.assignments_expire,
            approval_tasks.requests_time_out, notification_tasks.assignments_remind,
            notification_tasks.weekly_digest, notification_tasks.outbox_relay]
    with time_machine.travel(start + timedelta(days=2), tick=False):
        first = [job.apply().get() for job in jobs]
        after_first = _state()
        second = [job.apply().get() for job in jobs]
        after_second = _state()

    assert all(first[:4]), first  # each job had work the first time
    assert first[4] >= 1 and first[5] >= 1
    assert second == [0, 0, 0, 0, second[4], 0]  # the digest reports its recipients; nothing is queued again
    assert after_second == after_first
    assert Request.objects.get(pk=pending.pk).status == Request.Status.TIMED_OUT
