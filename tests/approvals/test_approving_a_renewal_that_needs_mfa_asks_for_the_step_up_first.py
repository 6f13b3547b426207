"""Approving the renewal of an active assignment whose policy requires MFA on active assignment: without a
fresh verification the approver is sent to the step-up and the request stays pending (it used to be
approved and then fail); with one, it is renewed."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import ApprovalDecision, Request
from tests.conftest import mark_mfa_verified


def test_step_up_before_the_decision(client, directory, policy, role_admin, requester, later):
    policy("helpdesk-administrator", require_mfa_on_active_assignment=True)
    active = directory.grant(requester, "helpdesk-administrator", kind="active", end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        renewal = services.request_self_renew(actor=requester, assignment=active, end_at=later(days=20),
                                              justification="still needed")
        client.force_login(role_admin)
        response = client.post(reverse("approvals:approve", args=[renewal.pk]), {"comment": "ok"})
        assert response.status_code == 302 and reverse("accounts:verify") in response["Location"]
        renewal.refresh_from_db()
        assert renewal.status == Request.Status.PENDING_APPROVAL
        assert not ApprovalDecision.objects.filter(request=renewal).exists()
        mark_mfa_verified(client)
        response = client.post(reverse("approvals:approve", args=[renewal.pk]), {"comment": "ok"}, follow=True)
        assert b"You approved" in response.content
        renewal.refresh_from_db()
        assert renewal.status == Request.Status.PROVISIONED
