"""A self-service extension or renewal is checked against the policy again when it is approved: a
policy tightened while the request waited bounds what the approval may grant."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from approvals import services
from approvals.models import Request
from assignments import services as assignment_services
from assignments.models import Assignment


def _tighten_eligible_to_15_days(directory, role_admin, slug="helpdesk-administrator"):
    assignment_services.role_setting_update(actor=role_admin, role=directory.role(slug), scope=directory.root,
                                            values={"allow_permanent_eligible": False,
                                                    "expire_eligible_after": "P15D"},
                                            mfa_verified_at=timezone.now())


def test_an_extension_approved_after_the_policy_tightened_fails_instead_of_outlasting_it(
        directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=10))
    request = services.request_self_extend(actor=requester, assignment=eligibility, end_at=later(days=200),
                                           justification="long project")
    _tighten_eligible_to_15_days(directory, role_admin)

    decided = services.request_approve(actor=role_admin, request=request)

    eligibility.refresh_from_db()
    assert eligibility.end_at <= timezone.now() + timedelta(days=15)
    assert decided.status == Request.Status.FAILED
    assert "15 days" in Request.objects.get(pk=request.pk).status_message


def test_a_renewal_approved_after_the_policy_tightened_fails_instead_of_outlasting_it(
        directory, requester, role_admin, eligible, later):
    eligibility = eligible(requester, end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        request = services.request_self_renew(actor=requester, assignment=eligibility, end_at=later(days=200),
                                              justification="back on the helpdesk")
        _tighten_eligible_to_15_days(directory, role_admin)

        decided = services.request_approve(actor=role_admin, request=request)

        assert decided.status == Request.Status.FAILED
        assert "15 days" in Request.objects.get(pk=request.pk).status_message
        # Nothing was granted: the only live row is the expired eligibility the sweep has not reached.
        assert not Assignment.objects.filter(principal=requester.principal, role=eligibility.role,
                                             status=Assignment.Status.LIVE, end_at__gt=timezone.now()).exists()
