from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services
from approvals.models import Request
from assignments.access import access_find_grant
from core.errors import DomainError


def test_two_of_three_approvals_then_activation_from_the_second(directory, requester, policy, eligible, activate):
    a1, a2, a3 = directory.user("a1"), directory.user("a2"), directory.user("a3")
    policy("helpdesk-administrator", require_approval=True, approvals_required=2, approvers=[a1, a2, a3])
    request = activate(requester, eligible(requester), duration_minutes=60)
    assert request.status == Request.Status.PENDING_APPROVAL and request.assignment is None
    assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/") is None

    with time_machine.travel(timezone.now() + timedelta(minutes=30)):
        request = services.request_approve(actor=a1, request=request, comment="ok")
        assert request.status == Request.Status.PENDING_APPROVAL
        with pytest.raises(DomainError) as again:
            services.request_approve(actor=a1, request=request)
        assert again.value.code == "conflict"
    final_at = timezone.now() + timedelta(hours=2)
    with time_machine.travel(final_at, tick=False):
        request = services.request_approve(actor=a2, request=request, comment="fine")
        assert request.status == Request.Status.PROVISIONED
        activation = request.assignment
        assert activation.start_at == final_at
        assert activation.end_at == final_at + timedelta(minutes=60)
        assert access_find_grant(principal=requester, role="helpdesk-administrator", scope="/") is not None
    with pytest.raises(DomainError) as late:
        services.request_approve(actor=a3, request=request)
    assert late.value.code == "conflict"
    assert request.decisions.count() == 2
