from datetime import timedelta

import time_machine
from django.utils import timezone

from approvals import selectors, services


def _labels(request):
    fresh = selectors.request_get_for_user(user=request.requested_by, request_id=request.pk)
    return [(e.label, e.who, e.detail, e.state) for e in selectors.request_timeline(request=fresh)]


def test_each_stage_in_order_with_who_when_and_why(directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    request = activate(requester, eligible(requester), duration_minutes=60, justification="backlog")
    assert [label for label, *_ in _labels(request)] == ["Requested", "Waiting for approval"]

    services.request_approve(actor=approver, request=request, comment="go")
    timeline = _labels(request)
    assert [label for label, *_ in timeline] == ["Requested", "Approved", "Provisioned", "Effective", "Ends"]
    assert timeline[0][1:3] == ("Requester", "backlog")
    assert timeline[1][1:3] == ("Approver", "go")

    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        assert [label for label, *_ in _labels(request)][-1] == "Ended"


def test_a_denied_request_ends_with_the_reason(directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    request = activate(requester, eligible(requester))
    services.request_deny(actor=approver, request=request, comment="freeze")
    timeline = _labels(request)
    assert timeline[-1][0] == "Denied" and timeline[-1][3] == "bad" and "freeze" in timeline[-1][2]
