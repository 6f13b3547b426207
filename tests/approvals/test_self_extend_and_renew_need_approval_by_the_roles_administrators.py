from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import selectors, services
from approvals.models import Request
from assignments.models import Assignment
from core.errors import DomainError


def test_extend_an_eligibility_ending_within_14_days_on_admin_approval(
        directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=10))
    named = directory.user("named")  # named activation approvers do not decide extensions
    request = services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=40),
                                           justification="project continues")
    assert request.status == Request.Status.PENDING_APPROVAL
    assert selectors.approver_can_decide(user=role_admin, request=request)
    assert not selectors.approver_can_decide(user=named, request=request)
    assert not selectors.approver_can_decide(user=requester, request=request)
    services.request_approve(actor=role_admin, request=request)
    eligibility.refresh_from_db()
    assert abs(eligibility.end_at - later(days=40)) < timedelta(seconds=5)


def test_extend_is_refused_too_early_and_without_reason(directory, requester, eligible, later):
    far = eligible(requester, end=later(days=20))
    with pytest.raises(DomainError) as early:
        services.request_self_extend(actor=requester, assignment=far, end_at=later(days=40), justification="x")
    assert "14 days" in early.value.message
    near = directory.grant(requester, "exchange-administrator", kind="eligible", end=later(days=3))
    with pytest.raises(DomainError) as no_reason:
        services.request_self_extend(actor=requester, assignment=near, end_at=later(days=40), justification="")
    assert no_reason.value.field == "justification"


def test_extend_an_activation_within_the_maximum(directory, requester, role_admin, policy, eligible, activate, later):
    policy("helpdesk-administrator", max_activation_minutes=120)
    activation = activate(requester, eligible(requester), duration_minutes=60).assignment
    with pytest.raises(DomainError) as too_long:
        services.request_self_extend(actor=requester, assignment=activation, duration_minutes=120, justification="x")
    assert too_long.value.field == "end_at"
    request = services.request_self_extend(actor=requester, assignment=activation, duration_minutes=30,
                                           justification="still fixing")
    services.request_approve(actor=role_admin, request=request, comment="ok")
    activation.refresh_from_db()
    assert activation.end_at - activation.start_at == timedelta(minutes=90)


def test_renew_an_assignment_that_expired_in_the_last_30_days(directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        with pytest.raises(DomainError):
            services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=60),
                                         justification="x")
        request = services.request_self_renew(actor=requester, assignment=eligibility, end_at=later(days=60),
                                              justification="still on the helpdesk")
        done = services.request_approve(actor=role_admin, request=request)
        assert done.status == Request.Status.PROVISIONED
        renewed = done.assignment
        assert renewed.pk != eligibility.pk and renewed.kind == Assignment.Kind.ELIGIBLE
        assert renewed.status == Assignment.Status.LIVE and renewed.start_at <= timezone.now()
    with time_machine.travel(timezone.now() + timedelta(days=40)):
        with pytest.raises(DomainError) as too_late:
            services.request_self_renew(actor=requester, assignment=eligibility, end_at=later(days=90),
                                        justification="x")
        assert "30 days" in too_late.value.message
