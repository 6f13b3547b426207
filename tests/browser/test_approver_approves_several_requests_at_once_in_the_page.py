"""An approver selects several requests on the approvals page and approves them at once: one result
per request (one was denied by another approver meanwhile and says so), the one left unselected stays
in the queue, and the page holds together at 390 px."""

import pytest
from django.utils import timezone

from approvals import services as approval_services
from approvals.models import Request
from assignments import services
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_bulk_approve_journey(directory, new_page, sign_in):
    approver, other = directory.user("approver"), directory.user("other")
    services.role_setting_update(actor=SETUP, role=directory.role("contributor"), scope=directory.root,
                                 values={"require_mfa_on_activation": False, "require_approval": True,
                                         "require_justification_on_activation": False,
                                         "require_ticket_on_activation": False},
                                 approver_ids=[approver.principal.pk, other.principal.pk])
    requests = []
    for name in ("ann", "ben", "cat"):
        user = directory.user(name)
        eligibility = directory.grant(user, "contributor", f"/subscriptions/{name}", kind="eligible")
        requests.append(approval_services.request_self_activate(
            actor=user, eligible_assignment=eligibility, duration_minutes=60, justification=f"work of {name}",
            mfa_verified_at=timezone.now()))
    ann, ben, cat = requests

    page = new_page()
    sign_in(page, "approver")
    page.goto("/requests/approvals/")
    assert page.locator("[data-testid=approval-request]").count() == 3
    page.check(f"#select-{ann.pk}")
    page.check(f"#select-{ben.pk}")
    page.fill("#bulk-comment", "sprint work")
    # Meanwhile another approver denies Ben's request.
    approval_services.request_deny(actor=other, request=ben, comment="not this sprint")
    page.click("button:has-text('Approve selected')")
    page.wait_for_selector("text=1 of 2 selected requests approved")
    results = page.locator("[data-testid=bulk-result]")
    assert results.count() == 2
    assert "Approved" in results.nth(0).inner_text() and "Ann" in results.nth(0).inner_text()
    assert "Refused" in results.nth(1).inner_text() and "no longer pending" in results.nth(1).inner_text()
    for request, status in ((ann, Request.Status.PROVISIONED), (ben, Request.Status.DENIED),
                            (cat, Request.Status.PENDING_APPROVAL)):
        request.refresh_from_db()
        assert request.status == status

    page.click("text=Back to approvals")
    cards = page.locator("[data-testid=approval-request]")
    assert cards.count() == 1 and "Cat" in cards.first.inner_text()

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/requests/approvals/")
    wide = page.evaluate("""() => [...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 391)
        .slice(0, 12).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)
        + ' ' + (e.textContent || '').slice(0, 40))""")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, wide
    assert page.locator("button:has-text('Approve selected')").is_visible()
    page.goto(f"/requests/{cat.pk}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390

    # Ann reads the outcome under History (nothing of hers waits any more).
    requester_page = new_page()
    sign_in(requester_page, "ann")
    requester_page.set_viewport_size({"width": 390, "height": 844})
    requester_page.goto("/requests/mine/")
    assert requester_page.locator("nav.tabs [aria-current=page]").inner_text() == "History"
    assert "sprint work" in requester_page.locator("[data-testid=request]").first.inner_text()
    assert requester_page.evaluate("document.documentElement.scrollWidth") <= 390
