"""A requester signs in, enrols TOTP (with an emailed enrolment code), activates a role that needs
MFA and approval; the approver signs in and approves; the requester sees the role active (and the
access check agrees), then deactivates it after the 5-minute minimum."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from assignments import services
from assignments.access import access_find_grant
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def test_activate_with_mfa_and_approval_then_deactivate(directory, new_page, sign_in, enrolment_code):
    requester, approver = directory.user("requester"), directory.user("approver")
    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_activation": True, "require_approval": True,
                                         "require_justification_on_activation": True,
                                         "require_ticket_on_activation": False, "max_activation_minutes": 120},
                                 approver_ids=[approver.principal.pk])
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    # The requester signs in and enrols an authenticator app, with the enrolment code from their mailbox.
    code = enrolment_code(requester)
    page = new_page()
    sign_in(page, "requester")
    page.goto("/account/security/")
    page.click("text=Enrol an authenticator app")
    assert page.locator(".qr svg").count() == 1
    device = TOTPDevice.objects.get(user=requester, confirmed=False)
    page.fill("input[name=enrolment_code]", code)
    page.fill("input[name=token]", _code(device))
    page.click("button:has-text('Confirm and enrol')")
    page.wait_for_selector("text=Your authenticator app is enrolled")

    # … and activates the role: the form shows the policy first.
    page.goto("/requests/roles/")
    page.click(f"a[href='/requests/roles/{eligibility.pk}/activate/']")
    policy = page.locator("[data-testid=policy]")
    assert "Required" in policy.inner_text() and "1 approval from Approver" in policy.inner_text()
    page.fill("input[name=duration_minutes_hours]", "1")
    page.fill("input[name=duration_minutes_minutes]", "0")
    page.fill("textarea[name=justification]", "Password reset backlog")
    page.click("button:has-text('Request activation')")
    page.wait_for_selector("text=is waiting for approval")
    assert access_find_grant(principal=requester, role=role, scope="/") is None

    # The approver signs in and approves from the queue.
    approver_page = new_page()
    sign_in(approver_page, "approver")
    approver_page.goto("/requests/approvals/")
    card = approver_page.locator("[data-testid=approval-request]")
    assert "Password reset backlog" in card.inner_text() and "Helpdesk Administrator" in card.inner_text()
    card.locator("input[name=comment]").first.fill("ok for today")
    card.locator("button:has-text('Approve')").click()
    approver_page.wait_for_selector("text=You approved")

    # The requester sees the role active; the access check agrees.
    page.goto("/requests/roles/")
    active = page.locator("[data-testid=active-roles]")
    assert "Helpdesk Administrator" in active.inner_text()
    assert access_find_grant(principal=requester, role=role, scope="/") is not None
    page.goto("/requests/mine/")
    timeline = page.locator("[data-testid=request]").first.inner_text()
    assert "Approved" in timeline and "Approver" in timeline and "ok for today" in timeline
    assert "Effective" in timeline

    # Deactivating asks for confirmation; within 5 minutes it is refused; after that it ends the role at once.
    page.goto("/requests/roles/")
    page.click("a:has-text('Deactivate')")
    page.wait_for_selector("text=Deactivate Helpdesk Administrator?")
    page.click("button:has-text('Deactivate now')")
    page.wait_for_selector("text=within 5 minutes")
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        page.goto("/requests/roles/")
        page.click("a:has-text('Deactivate')")
        page.click("button:has-text('Deactivate now')")
        page.wait_for_selector("text=is deactivated")
        assert "Helpdesk Administrator" not in page.locator("[data-testid=active-roles]").inner_text()
        assert access_find_grant(principal=requester, role=role, scope="/") is None
