"""An approver who requests the role themselves cannot approve their own request from the browser."""

import pytest

from approvals.models import Request
from assignments import services
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_own_request_is_not_offered_and_a_forged_approval_is_refused(directory, new_page, sign_in):
    alice, bob = directory.user("alice"), directory.user("bob")
    role = directory.role("helpdesk-administrator")
    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"require_mfa_on_activation": False, "require_approval": True,
                                         "require_justification_on_activation": False,
                                         "require_ticket_on_activation": False},
                                 approver_ids=[alice.principal.pk, bob.principal.pk])
    eligibility = directory.grant(alice, "helpdesk-administrator", kind="eligible")

    page = new_page()
    sign_in(page, "alice")
    page.goto(f"/requests/roles/{eligibility.pk}/activate/")
    page.click("button:has-text('Request activation')")
    page.wait_for_selector("text=is waiting for approval")
    request = Request.objects.get(action="self_activate")

    page.goto("/requests/approvals/")
    assert page.locator("[data-testid=approval-request]").count() == 0
    page.goto(f"/requests/{request.pk}/")
    assert "cannot approve or deny it" in page.locator("[data-testid=own-request-note]").inner_text()
    assert page.locator("button:has-text('Approve')").count() == 0

    # Forge the approval form the page does not offer: the server refuses with a reason.
    page.evaluate("""(url) => {
        const form = document.createElement('form');
        form.method = 'post'; form.action = url;
        const token = document.querySelector('input[name=csrfmiddlewaretoken]').cloneNode();
        form.appendChild(token); document.body.appendChild(form); form.submit();
    }""", f"/requests/{request.pk}/approve/")
    page.wait_for_selector("text=You cannot approve or deny your own request")
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL
