"""A reviewer denies an item of an access review in the browser; when the review is stopped and its
results applied (by an administrator, in the browser), the denied assignment is gone — ended with
reason review_denied — and the approved one is kept.

Debian's Chromium comes from the `chromium` fixture (tests/browser/conftest.py)."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.models import Assignment
from reviews import services, tasks
from reviews.models import AccessReviewInstance

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests-123"


def _signed_in_page(browser, base_url: str, username: str):
    context = browser.new_context(base_url=base_url)
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page


def test_reviewer_denies_and_the_assignment_is_removed_after_apply(chromium, live_server, directory):
    with time_machine.travel(timezone.now() - timedelta(days=2), tick=False):
        admin = directory.user("reviewadmin", password=PASSWORD)
        directory.grant(admin, "global-administrator")
        reviewer = directory.user("reviewer", password=PASSWORD)
        leaver = directory.grant(directory.user("leaver"), "security-administrator", kind="eligible")
        stayer = directory.grant(directory.user("stayer"), "security-administrator", kind="eligible")
    spec = services.ReviewSettings(name="Security Administrator recertification", scope=directory.root,
                                   start_date=timezone.now().date(), duration_days=14,
                                   reviewer_ids=[reviewer.principal.pk])
    [review] = services.review_create(actor=admin, roles=[directory.role("security-administrator")], spec=spec,
                                      mfa_verified_at=timezone.now())
    assert tasks.reviews_start() == 1  # the beat's job
    instance = review.instances.get(sequence=1)

    page = _signed_in_page(chromium, live_server.url, "reviewer")
    page.goto("/reviews/mine/")
    page.click("text=Security Administrator recertification")
    page.wait_for_url(re.compile(rf"/reviews/mine/{instance.pk}/$"))
    leaver_item = instance.items.get(assignment=leaver)
    stayer_item = instance.items.get(assignment=stayer)
    page.check(f"#item-{leaver_item.pk}")
    page.check("input[name=decision][value=deny]")
    page.fill("textarea[name=reason]", "Left the security team in October")
    page.click("button:has-text('Save decision')")
    page.wait_for_selector("text=Decision saved for 1 item: deny.")
    page.check(f"#item-{stayer_item.pk}")
    page.check("input[name=decision][value=approve]")
    page.click("button:has-text('Save decision')")
    page.wait_for_selector("text=Decision saved for 1 item: approve.")
    assert "Left the security team in October" in page.content()

    admin_page = _signed_in_page(chromium, live_server.url, "reviewadmin")
    admin_page.goto(f"/reviews/instances/{instance.pk}/")
    assert "2 / 2" in admin_page.content()
    admin_page.click("button:has-text('Stop now')")
    admin_page.wait_for_selector("text=The review was stopped")
    admin_page.click("button:has-text('Apply results')")
    admin_page.wait_for_selector("text=1 assignment removed.")
    assert "Access removed" in admin_page.content()

    instance.refresh_from_db()
    leaver.refresh_from_db()
    stayer.refresh_from_db()
    assert instance.status == AccessReviewInstance.Status.APPLIED
    assert leaver.status == Assignment.Status.ENDED and leaver.end_reason == Assignment.EndReason.REVIEW_DENIED
    assert stayer.status == Assignment.Status.LIVE
