"""Scheduled activations and assignments: access starts at start_at whatever the job does; the job
moves the request to provisioned, audits it and announces the start, once."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from approvals import sweeps
from approvals.models import Request
from assignments.access import access_find_grant
from audit.models import AuditEvent


def test_a_scheduled_activation_is_provisioned_once_its_start_has_come(directory, global_admin, requester, policy,
                                                                       activate, outbox):
    policy("helpdesk-administrator")
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    start = timezone.now() + timedelta(hours=3)
    request = activate(requester, eligibility, start_at=start)
    assert request.status == Request.Status.SCHEDULED

    assert sweeps.requests_start_scheduled().processed == 0
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/") is not None
        assert sweeps.requests_start_scheduled().processed == 1
        assert sweeps.requests_start_scheduled().processed == 0

    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED
    assert AuditEvent.objects.filter(action="request.start", correlation_id=request.pk).count() == 1
    # One "activated" notice per recipient, whether it was announced at request time or at the start.
    rows = outbox.rows("email/activated")
    assert sorted(m.payload["to"] for m in rows) == ["gadmin@example.com", "requester@example.com"]


def test_a_scheduled_admin_assignment_is_provisioned_at_its_start(directory, global_admin, requester):
    start = timezone.now() + timedelta(days=1)
    assignment = directory.grant(requester, "helpdesk-administrator", kind="eligible", start=start)
    request = Request.objects.get(assignment=assignment)
    assert request.status == Request.Status.SCHEDULED

    with time_machine.travel(start, tick=False):
        assert sweeps.requests_start_scheduled().processed == 1

    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED
