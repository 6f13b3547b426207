"""Long text fields show a live counter and keep everything typed or pasted (no silent cut by
`maxlength`); an overlong value is refused by the server with the error summary at the top, focused,
linking to the field."""

import pytest

from assignments import services
from core.actors import Actor

SETUP = Actor.system("test-setup")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_justification_counts_keeps_an_overlong_paste_and_the_server_says_so(directory, new_page, sign_in):
    requester = directory.user("requester")
    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_activation": False, "require_approval": False,
                                         "require_ticket_on_activation": False})
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    page = new_page()
    sign_in(page, "requester")
    page.goto(f"/requests/roles/{eligibility.pk}/activate/")

    justification = page.locator("textarea[name=justification]")
    assert justification.get_attribute("maxlength") is None
    counter = page.locator(f"#{justification.get_attribute('data-counter')}")
    justification.fill("Password reset backlog")
    assert counter.inner_text() == "22 of 2000 characters (1978 left)"

    justification.fill("x" * 2005)  # a paste longer than the limit: kept whole, flagged
    assert len(justification.input_value()) == 2005
    assert "5 too many" in counter.inner_text()
    assert justification.get_attribute("aria-invalid") == "true"

    page.click("button:has-text('Activate')")
    summary = page.locator("[data-error-summary]")
    summary.wait_for()
    assert "There is a problem" in summary.inner_text()
    assert "at most 2000 characters" in summary.inner_text()
    assert page.evaluate("document.activeElement.hasAttribute('data-error-summary')")
    link = summary.locator("a")
    assert link.get_attribute("href") == "#id_justification"
    link.click()
    assert page.evaluate("document.activeElement.id") == "id_justification"
    assert len(page.locator("textarea[name=justification]").input_value()) == 2005  # still all there


def test_durations_are_hours_and_minutes_with_the_maximum_shown(directory, new_page, sign_in):
    requester = directory.user("requester")
    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_activation": False, "require_approval": False,
                                         "require_ticket_on_activation": False, "max_activation_minutes": 150})
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    page = new_page()
    sign_in(page, "requester")
    page.goto(f"/requests/roles/{eligibility.pk}/activate/")
    assert "2 h 30 min" in page.locator("[data-testid=policy-maximum]").inner_text()
    assert "at most 2 h 30 min" in page.locator("#id_duration_minutes-help").inner_text()
    page.fill("input[name=duration_minutes_hours]", "2")
    page.fill("input[name=duration_minutes_minutes]", "15")
    page.fill("textarea[name=justification]", "quarterly report")
    page.click("button:has-text('Activate')")
    page.wait_for_selector("text=is active now")
    active = requester.principal.assignments.get(kind="active")
    assert (active.end_at - active.start_at).total_seconds() == 135 * 60
