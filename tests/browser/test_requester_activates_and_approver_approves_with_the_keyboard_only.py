"""Keyboard only: the requester signs in, skips to the content, tabs to Activate, fills the form and
submits it; the approver signs in and approves from the queue. No mouse, and every control reached
shows a focus outline."""

import pytest

from approvals.models import Request
from assignments import services
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUS_SHOWN = """() => { const s = getComputedStyle(document.activeElement);
  return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2; }"""


def _tab_to(page, selector: str, *, limit: int = 60) -> None:
    """Press Tab until the focused element matches `selector`, and check that it shows its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("s => document.activeElement && document.activeElement.matches(s)", selector):
            assert page.evaluate(FOCUS_SHOWN), f"{selector} has focus but shows no outline"
            return
    raise AssertionError(f"{selector} is not reachable with Tab")


def _sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    _tab_to(page, "input[name=login]")
    page.keyboard.type(username)
    _tab_to(page, "input[name=password]")
    page.keyboard.type("pw-for-tests-123")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _skip_to_content(page) -> None:
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
    page.keyboard.press("Enter")


def test_activate_and_approve_with_the_keyboard(directory, new_page):
    requester, approver = directory.user("requester"), directory.user("approver")
    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_activation": False, "require_approval": True,
                                         "require_justification_on_activation": True,
                                         "require_ticket_on_activation": False},
                                 approver_ids=[approver.principal.pk])
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

    page = new_page()
    _sign_in(page, "requester")
    page.goto("/requests/roles/")
    _skip_to_content(page)
    _tab_to(page, f"a[href='/requests/roles/{eligibility.pk}/activate/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/requests/roles/{eligibility.pk}/activate/")
    _tab_to(page, "input[name=duration_minutes_hours]")
    page.keyboard.press("Control+A")
    page.keyboard.type("1")
    _tab_to(page, "input[name=duration_minutes_minutes]")
    page.keyboard.press("Control+A")
    page.keyboard.type("30")
    _tab_to(page, "textarea[name=justification]")
    page.keyboard.type("Password reset backlog")
    _tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=is waiting for approval")
    request = Request.objects.get(principal=requester.principal, action=Request.Action.SELF_ACTIVATE)
    assert request.duration_minutes == 90 and request.status == Request.Status.PENDING_APPROVAL

    approver_page = new_page()
    _sign_in(approver_page, "approver")
    approver_page.goto("/requests/approvals/")
    _skip_to_content(approver_page)
    _tab_to(approver_page, f"#approve-comment-{request.pk}")
    approver_page.keyboard.type("ok for today")
    _tab_to(approver_page, f"form[action='/requests/{request.pk}/approve/'] button")
    approver_page.keyboard.press("Enter")
    approver_page.wait_for_selector("text=You approved")
    request.refresh_from_db()
    assert request.status == Request.Status.PROVISIONED
