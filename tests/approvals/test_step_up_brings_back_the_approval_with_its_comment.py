"""An approval that needs the approver's fresh verification (a renewal of an active assignment under
"require MFA on active assignment") sends the approver to verify and back to the request's page, the
comment kept: approving is one click. Nothing is decided before that click."""

from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from approvals import services
from approvals.models import Request
from assignments import services as assignment_services
from tests.conftest import SETUP, mark_mfa_verified


def test_approver_verifies_and_approves_in_one_click_with_the_comment_kept(directory, requester, role_admin, later):
    assignment_services.role_setting_update(actor=SETUP, role=directory.role("helpdesk-administrator"),
                                            scope=directory.root, values={"require_mfa_on_active_assignment": True})
    active = directory.grant(requester, "helpdesk-administrator", kind="active", end=later(days=1))
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        pending = services.request_self_renew(actor=requester, assignment=active, end_at=later(days=30),
                                              justification="still on call")
        client = Client()
        client.force_login(role_admin)

        refused = client.post(reverse("approvals:approve", args=[pending.pk]), {"comment": "ok, one more month"})

        detail = reverse("approvals:request_detail", args=[pending.pk])
        assert refused.status_code == 302 and refused["Location"].startswith(reverse("accounts:verify"))
        assert "next=" + detail.replace("/", "%2F") in refused["Location"]
        pending.refresh_from_db()
        assert pending.status == Request.Status.PENDING_APPROVAL

        mark_mfa_verified(client)
        page = client.get(detail).content.decode()
        assert 'value="ok, one more month"' in page
        pending.refresh_from_db()
        assert pending.status == Request.Status.PENDING_APPROVAL  # shown, not decided

        client.post(reverse("approvals:approve", args=[pending.pk]), {"comment": "ok, one more month"})
        pending.refresh_from_db()
        assert pending.status != Request.Status.PENDING_APPROVAL
        assert pending.decisions.get().comment == "ok, one more month"
