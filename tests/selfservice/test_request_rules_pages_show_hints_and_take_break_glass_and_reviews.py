"""The pages: the activation form shows the justification hint and the break-glass link; administrators
edit the request rules (a bad pattern is a form error, saving asks for a fresh verification) and add
auto-approval rules; the request page says which rule approved it; break-glass is a form with a mandatory
reason; the post-hoc review is completed on its page, never by the requester."""

import pytest
from django.test import Client

from approvals.models import Request
from selfservice.models import AutoApprovalRule, BreakGlassReview, RequestRules


@pytest.fixture
def setting(policy, approver):
    return policy("helpdesk-administrator", approvers=[approver], require_approval=True,
                  require_mfa_on_activation=True, require_justification_on_activation=True)


def test_the_activation_form_shows_the_hint_and_the_break_glass_link(setting, requester, eligible, rules,
                                                                      verified_client):
    rules(setting, justification_min_length=12, justification_hint="Write “INC-123: why”.", allow_break_glass=True)
    eligibility = eligible(requester)
    html = verified_client(requester).get(f"/requests/roles/{eligibility.pk}/activate/").content.decode()
    assert "At least 12 characters. Write “INC-123: why”." in html
    assert f"/request-rules/break-glass/{eligibility.pk}/" in html


def test_administrators_edit_the_rules_with_form_errors_and_a_step_up(setting, requester, role_admin,
                                                                      verified_client):
    url = f"/request-rules/settings/{setting.pk}/"
    assert verified_client(requester).get(url).status_code == 403
    admin = verified_client(role_admin)
    assert admin.get(url).status_code == 200
    bad = admin.post(url, {"justification_min_length": "0", "justification_pattern": "(", "ticket_pattern": "[",
                           "break_glass_review_hours": "24"})
    assert bad.status_code == 400
    assert "not a regular expression" in bad.content.decode()
    assert not RequestRules.objects.exists()
    good = admin.post(url, {"justification_min_length": "20", "break_glass_review_hours": "8",
                            "allow_break_glass": "on"})
    assert good.status_code == 302
    assert RequestRules.objects.get().break_glass_review_hours == 8
    stale = Client()
    stale.force_login(role_admin)
    stepped = stale.post(url, {"justification_min_length": "5", "break_glass_review_hours": "8"})
    assert stepped.status_code == 302 and "/account/verify/" in stepped["Location"]
    assert RequestRules.objects.get().justification_min_length == 20


def test_an_auto_approval_rule_added_in_the_page_approves_and_the_request_page_says_so(
        directory, setting, requester, role_admin, eligible, verified_client):
    sre = directory.group("SRE")
    directory.add_member(sre, requester)
    admin = verified_client(role_admin)
    empty = admin.post(f"/request-rules/settings/{setting.pk}/auto-approval/", {
        "name": "nothing", "roster_zone": "UTC", "time_windows_zone": "UTC"})
    assert empty.status_code == 400 and "at least one condition" in empty.content.decode()
    added = admin.post(f"/request-rules/settings/{setting.pk}/auto-approval/", {
        "name": "SRE on duty", "group": sre.pk, "roster_zone": "UTC", "time_windows_zone": "UTC"})
    assert added.status_code == 302
    rule = AutoApprovalRule.objects.get()
    assert admin.get(f"/request-rules/auto-approval/{rule.pk}/").status_code == 200
    client = verified_client(requester)
    eligibility = eligible(requester)
    activated = client.post(f"/requests/roles/{eligibility.pk}/activate/", {
        "scope": eligibility.scope_id, "duration_minutes_hours": "1", "duration_minutes_minutes": "0",
        "justification": "INC-5 restart the relay"})
    assert activated.status_code == 302
    request = Request.objects.get(eligible_assignment=eligibility)
    assert request.status == Request.Status.PROVISIONED
    assert "Approved automatically by the rule “SRE on duty”." in client.get(
        f"/requests/{request.pk}/").content.decode()


def test_break_glass_in_the_page_and_the_review_completed_by_an_administrator(
        setting, requester, role_admin, eligible, rules, verified_client):
    rules(setting, allow_break_glass=True)
    client = verified_client(requester)
    eligibility = eligible(requester)
    url = f"/request-rules/break-glass/{eligibility.pk}/"
    no_reason = client.post(url, {"reason": "", "duration_minutes_hours": "1", "duration_minutes_minutes": "0"})
    assert no_reason.status_code == 400
    done = client.post(url, {"reason": "Outage: approvers unreachable", "duration_minutes_hours": "1",
                             "duration_minutes_minutes": "0"})
    assert done.status_code == 302
    review = BreakGlassReview.objects.get()
    assert "Break-glass" in client.get(done["Location"]).content.decode()
    review_url = f"/request-rules/break-glass-reviews/{review.pk}/"
    own = client.post(review_url, {"outcome": "justified", "comment": "fine"})
    assert own.status_code == 403
    admin = verified_client(role_admin)
    assert review_url in admin.get("/request-rules/break-glass-reviews/").content.decode()
    assert "Outage: approvers unreachable" in admin.get(review_url).content.decode()
    completed = admin.post(review_url, {"outcome": "justified", "comment": "Confirmed the outage."})
    assert completed.status_code == 302
    review.refresh_from_db()
    assert review.status == "completed" and review.completed_by_id == role_admin.pk


def test_break_glass_page_is_refused_where_the_policy_does_not_allow_it(setting, requester, eligible,
                                                                        verified_client):
    assert verified_client(requester).get(f"/request-rules/break-glass/{eligible(requester).pk}/").status_code == 403
