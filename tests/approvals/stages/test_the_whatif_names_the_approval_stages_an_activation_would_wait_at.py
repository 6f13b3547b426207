"""The what-if says what an activation would require, approval stages included: each stage in order with
its approvers, how many of them, its timeout and where it escalates; and the page shows them."""

import pytest
from django.urls import reverse

from governance.whatif import whatif_explain

pytestmark = pytest.mark.django_db


def test_the_explanation_lists_the_stages_in_order(directory, requester, stages, eligible, global_admin, client):
    first, fallback, second = (directory.user(name) for name in ("ann", "fay", "sam"))
    stages("helpdesk-administrator", [
        dict(name="Team lead", approvers=[first], timeout_minutes=60, escalate_on_timeout=True,
             fallback_approvers=[fallback]),
        dict(name="Security", approvers=[second], approvals_required=1, timeout_minutes=120)])
    eligible(requester)

    explained = whatif_explain(principal=requester.principal, role=directory.role("helpdesk-administrator"),
                               scope=directory.root)

    assert explained.verdict == "approval"
    assert [(s["position"], s["name"], s["approvers"], s["timeout_minutes"], s["escalate_on_timeout"],
             s["fallback_approvers"]) for s in explained.stages] == [
        (1, "Team lead", [str(first.principal)], 60, True, [str(fallback.principal)]),
        (2, "Security", [str(second.principal)], 120, False, [])]
    assert explained.as_dict()["stages"] == explained.stages

    client.force_login(global_admin)
    page = client.get(reverse("governance:whatif"), {
        "principal": requester.principal.pk, "role": directory.role("helpdesk-administrator").pk, "scope": "/"})
    assert page.status_code == 200
    assert b"Approval stages" in page.content and b"Team lead" in page.content and b"escalated to" in page.content


def test_without_stages_the_explanation_lists_none(directory, requester, policy, eligible):
    policy("helpdesk-administrator", require_approval=True)
    eligible(requester)
    explained = whatif_explain(principal=requester.principal, role=directory.role("helpdesk-administrator"),
                               scope=directory.root)
    assert explained.verdict == "approval" and explained.stages == []
