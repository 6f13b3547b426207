"""The audit log at 390 px and 1366 px: readable action names beside their codes, the approver's comment
labelled, both downloads offered, an inverted date range shown as an error, and nothing wider than the
window (no sideways scrolling)."""

import re

import pytest

from audit.services import audit_event_record

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [390, 1366])
def test_the_audit_log_fits_and_reads(directory, new_page, sign_in, width, tmp_path):
    auditor = directory.user("erin.auditor")
    directory.grant(auditor, "global-reader")
    audit_event_record(action="request.deny", actor=auditor, principal=auditor.principal,
                       justification="No ticket for this change, please raise one in ServiceNow first")
    audit_event_record(action="assignment.activate", actor=auditor, principal=auditor.principal, scope="/",
                       justification="Fix INC-42")
    page = new_page()
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "erin.auditor")
    page.goto("/audit/")
    assert page.get_by_role("link", name="Role activated").first.is_visible()
    assert page.get_by_text("Approver's comment:").first.is_visible()
    assert page.get_by_role("link", name="CSV for Excel (UTF-8 with BOM)").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "wider than the window"
    assert page.evaluate("(() => { const w = document.querySelector('.table-wrap'); "
                         "return w.scrollWidth <= w.clientWidth; })()"), "the table scrolls sideways"
    page.screenshot(path=str(tmp_path / f"audit-{width}.png"))
    page.locator("tbody tr").nth(2).screenshot(path=str(tmp_path / f"audit-{width}-decision.png"))

    page.goto("/audit/?period=custom&date_from=2026-03-10&date_to=2026-03-01")
    assert page.locator("#id_date_to-error").get_by_text("is before its start").is_visible()
    assert page.locator(".error-summary").get_by_role("link", name=re.compile("is before its start")).is_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "wider than the window"
