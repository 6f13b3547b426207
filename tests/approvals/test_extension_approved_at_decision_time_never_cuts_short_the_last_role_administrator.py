"""The last-administrator rule holds when an extension is approved: if the eligibility was
shortened while the request waited, the approval must not cut short the activation of the last
Privileged Role Administrator (the directory would lose its last one early)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Request
from assignments import services as assignment_services
from assignments.models import Assignment
from core.errors import DomainError


def test_approval_does_not_cut_short_the_last_privileged_role_administrator(
        directory, requester, global_admin, policy, eligible, activate, later):
    policy("privileged-role-administrator", max_activation_minutes=180)
    eligibility = eligible(requester, "privileged-role-administrator")
    activation = activate(requester, eligibility, duration_minutes=120).assignment
    original_end = activation.end_at
    request = services.request_self_extend(actor=requester, assignment=activation, duration_minutes=30,
                                           justification="migration overruns")
    # While the request waits, the eligibility comes to end before the activation. An administrator
    # cannot do that through PIM (the cut would shorten the last one's activation: refused), so the row
    # is changed as a change made outside PIM would leave it.
    with pytest.raises(DomainError) as refused:
        assignment_services.assignment_update(actor=global_admin, assignment=eligibility, start_at=None,
                                              end_at=later(minutes=30), mfa_verified_at=timezone.now())
    assert refused.value.code == "conflict" and "last active" in refused.value.message
    Assignment.objects.filter(pk=eligibility.pk).update(end_at=later(minutes=30))

    decided = services.request_approve(actor=global_admin, request=request)

    activation.refresh_from_db()
    assert activation.status == Assignment.Status.LIVE
    assert activation.end_at >= original_end - timedelta(seconds=1)
    assert decided.status == Request.Status.FAILED
