from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from approvals.models import Request
from audit.models import AuditEvent
from core import domain_events
from core.errors import DomainError


def test_overdue_requests_time_out_once_and_can_no_longer_be_approved(
        directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_approval=True, approval_window_minutes=60, approvers=[approver])
    request = activate(requester, eligible(requester))
    assert request.approval_deadline == request.created_at + timedelta(minutes=60)
    assert services.request_expire_overdue(now=timezone.now() + timedelta(minutes=59)) == 0

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        with pytest.raises(DomainError) as error:
            services.request_approve(actor=approver, request=request)
        assert "timed out" in error.value.message
        seen = []
        domain_events.subscribe(recorder := lambda name, **kw: seen.append(name))
        try:
            assert services.request_expire_overdue() == 1
            assert services.request_expire_overdue() == 0
        finally:
            domain_events._subscribers.remove(recorder)
    request.refresh_from_db()
    assert request.status == Request.Status.TIMED_OUT
    assert seen == ["request.timed_out"]
    assert AuditEvent.objects.filter(action="request.time_out", correlation_id=request.pk).count() == 1
