"""My roles at 1366 px: the Actions cell is a table cell like the others (a flex cell misaligned the
row's bottom border), and a small <button> is as small as a small link button (`button.button` used to
outrank `.button-small`)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services as approval_services
from assignments import services as assignment_services
from tests.conftest import SETUP

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROW_GEOMETRY = """() => [...document.querySelectorAll("[data-testid=active-roles] tbody tr")].map(row =>
  [...row.cells].map(cell => { const r = cell.getBoundingClientRect();
    return {display: getComputedStyle(cell).display, top: Math.round(r.top), bottom: Math.round(r.bottom)}; }))"""
LINK_HEIGHTS = """() => ({
  link: document.querySelector("a.button-small").getBoundingClientRect().height,
  regular: document.querySelector("main a.button:not(.button-small)").getBoundingClientRect().height})"""


def test_actions_cells_and_button_sizes(directory, new_page, sign_in):
    requester, approver = directory.user("requester"), directory.user("approver")
    # A second eligible role that needs the approver's approval: its request is in the approver's queue.
    assignment_services.role_setting_update(actor=SETUP, role=directory.role("user-administrator"),
                                            scope=directory.root, values={"require_approval": True},
                                            approver_ids=[approver.principal.pk])
    waiting = directory.grant(requester, "user-administrator", kind="eligible")
    approval_services.request_self_activate(actor=requester, eligible_assignment=waiting, duration_minutes=60,
                                            justification="audit", ticket_system="ITSM", ticket_number="43",
                                            mfa_verified_at=timezone.now())
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    approval_services.request_self_activate(actor=requester, eligible_assignment=eligibility, duration_minutes=60,
                                            justification="backlog", ticket_system="ITSM", ticket_number="42",
                                            mfa_verified_at=timezone.now())
    # An assigned role ending in 3 days: its row has an Extend link.
    directory.grant(requester, "exchange-administrator", kind="active", end=timezone.now() + timedelta(days=3))
    page = new_page()
    page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(page, "requester")
    page.goto("/requests/roles/")
    rows = page.evaluate(ROW_GEOMETRY)
    assert rows
    for cells in rows:
        assert {cell["display"] for cell in cells} == {"table-cell"}
        assert len({cell["bottom"] for cell in cells}) == 1, cells  # one bottom border for the row
    # My roles' small actions are all links now (Deactivate asks on its own page): the small <button>
    # to compare with them is the approver's Approve, on the approvals queue.
    heights = page.evaluate(LINK_HEIGHTS)
    approver_page = new_page()
    approver_page.set_viewport_size({"width": 1366, "height": 900})
    sign_in(approver_page, "approver")
    approver_page.goto("/requests/approvals/")
    heights["button"] = approver_page.evaluate(
        "() => document.querySelector('main button.button-small').getBoundingClientRect().height")
    assert abs(heights["button"] - heights["link"]) <= 1, heights
    assert heights["button"] < heights["regular"], heights
