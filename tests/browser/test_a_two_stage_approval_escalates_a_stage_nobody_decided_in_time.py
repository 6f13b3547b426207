"""A two-stage approval with an escalation, in the browser: the requester activates a role whose policy has
two stages; stage 1's approver does nothing, its timeout passes (the clock moved with time-machine: the live
server runs in this process) and the time-out job hands the stage to its fallback approver, who approves on
the request page; stage 2's approver, not asked before, approves from the queue; the role is active and the
request page shows both stages, their quorum and who decided."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from approvals import services as approval_services
from approvals.models import Request
from assignments import services
from assignments.access import access_find_grant
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_two_stages_with_an_escalation(directory, new_page, sign_in):
    requester, lead, deputy, security = (directory.user(name) for name in ("requester", "lead", "deputy",
                                                                           "security"))
    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_activation": False, "require_approval": True,
                                         "require_justification_on_activation": True,
                                         "require_ticket_on_activation": False})
    services.role_setting_stages_set(actor=SETUP, role=role, scope=directory.root, stages=[
        {"name": "Team lead", "approvers": [lead.principal.pk], "timeout_minutes": 60, "escalate_on_timeout": True,
         "fallback_approvers": [deputy.principal.pk]},
        {"name": "Security", "approvers": [security.principal.pk], "timeout_minutes": 120}])
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    start = timezone.now()

    page = new_page()
    sign_in(page, "requester")
    page.goto(f"/requests/roles/{eligibility.pk}/activate/")
    page.fill("input[name=duration_minutes_hours]", "1")
    page.fill("input[name=duration_minutes_minutes]", "0")
    page.fill("textarea[name=justification]", "Printer queue incident")
    page.click("button:has-text('Request activation')")
    page.wait_for_selector("text=is waiting for approval")
    request = Request.objects.get(requested_by=requester)

    # Stage 2's approver is not asked yet; stage 1's lead sees it, and lets it be.
    security_page = new_page()
    sign_in(security_page, "security")
    security_page.goto("/requests/approvals/")
    assert security_page.locator("[data-testid=approval-request]").count() == 0

    with time_machine.travel(start + timedelta(minutes=61), tick=True):
        assert approval_services.request_expire_overdue() == 0  # the beat job's run: escalated, not timed out

        deputy_page = new_page()
        sign_in(deputy_page, "deputy")
        deputy_page.goto("/requests/approvals/")
        card = deputy_page.locator("[data-testid=approval-request]")
        assert "escalated to you" in card.locator("[data-testid=queue-stage]").inner_text()
        deputy_page.goto(f"/requests/{request.pk}/")
        stages = deputy_page.locator("[data-testid=request-stages]").inner_text()
        assert "Stage 1: Team lead" in stages and "escalated to the fallback approvers" in stages
        deputy_page.fill(f"#approve-comment-{request.pk}", "covering for the lead")
        deputy_page.click("#decide button:has-text('Approve')")
        deputy_page.wait_for_selector("text=now waits at Stage 2: Security")

        security_page.goto("/requests/approvals/")
        card = security_page.locator("[data-testid=approval-request]")
        assert "Stage 2: Security" in card.locator("[data-testid=queue-stage]").inner_text()
        assert "Deputy (stage 1" in card.inner_text()
        card.locator("button:has-text('Approve')").click()
        security_page.wait_for_selector("text=You approved")

        assert access_find_grant(principal=requester, role=role, scope="/") is not None
        page.goto(f"/requests/{request.pk}/")
        stages = page.locator("[data-testid=request-stages]").inner_text()
        assert "Deputy (approved)" in stages and "Security (approved)" in stages
        assert stages.count("1 of 1") == 2
