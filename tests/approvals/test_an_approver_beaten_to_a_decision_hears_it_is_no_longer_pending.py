"""Found under load (two approvers approving the same batch at once): the slower approver read the request
while it was pending, the faster one approved it, and the slower one was then told "You are not an
approver of … (or no longer are)", because the approver check only counts pending requests. They are an
approver; the request was decided. The refusal must say that."""

import pytest

from approvals import services
from approvals.models import Request
from core.actors import Actor
from core.errors import DomainError


def test_a_request_decided_between_reading_it_and_the_approver_check_is_no_longer_pending(
        directory, policy, activate):
    first, second = directory.user("approver1"), directory.user("approver2")
    policy("contributor", require_approval=True, approvers=[first, second])
    requester = directory.user("req")
    request = activate(requester, directory.grant(requester, "contributor", "/subscriptions/b1", kind="eligible"))
    seen_pending = Request.objects.get(pk=request.pk)  # what the slower approver read
    services.request_approve(actor=first, request=request)  # the faster one decides it
    with pytest.raises(DomainError) as refused:
        services._check_decider(actor=Actor.person(second), request=seen_pending, now=seen_pending.created_at)
    assert refused.value.status == 409
    assert "no longer pending" in refused.value.message
