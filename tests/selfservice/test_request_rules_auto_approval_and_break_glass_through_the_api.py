"""The API reaches the same services: request rules (administrators, fresh MFA), auto-approval rules and
their roster upload, the rule that approved an activation in the request's body, break-glass and its
review; a bad justification or ticket is a 400 naming the field."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from selfservice.models import BreakGlassReview

from .test_on_call_roster_from_icalendar_decides_auto_approval import ROSTER


def _json(client, method, url, body=None):
    return getattr(client, method)(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def setting(policy, approver):
    return policy("helpdesk-administrator", approvers=[approver], require_approval=True,
                  require_mfa_on_activation=True, require_justification_on_activation=True)


def test_only_the_roles_administrators_read_and_set_the_rules(setting, requester, role_admin, verified_client):
    url = f"/api/v1/role-settings/{setting.pk}/request-rules/"
    assert verified_client(requester).get(url).status_code == 403
    admin = verified_client(role_admin)
    assert admin.get(url).json()["allow_break_glass"] is False
    response = _json(admin, "put", url, {"justification_min_length": 15, "ticket_pattern": "OPS-[0-9]+"})
    assert response.status_code == 200, response.json()
    assert response.json()["justification_min_length"] == 15 and response.json()["ticket_pattern"] == "OPS-[0-9]+"
    bad = _json(admin, "put", url, {"justification_pattern": "("})
    assert bad.status_code == 400 and bad.json()["error"]["field"] == "justification_pattern"


def test_the_activation_answers_400_on_a_short_justification_and_names_the_rule_that_approved_it(
        directory, setting, requester, role_admin, eligible, verified_client):
    admin = verified_client(role_admin)
    _json(admin, "put", f"/api/v1/role-settings/{setting.pk}/request-rules/", {"justification_min_length": 15})
    sre = directory.group("SRE")
    directory.add_member(sre, requester)
    created = _json(admin, "post", f"/api/v1/role-settings/{setting.pk}/auto-approval-rules/",
                    {"name": "SRE", "group": sre.pk})
    assert created.status_code == 201, created.json()
    rule_id = created.json()["id"]
    client = verified_client(requester)
    eligibility = eligible(requester)
    short = _json(client, "post", "/api/v1/requests/", {"action": "self_activate", "assignment": eligibility.pk,
                                                        "duration_minutes": 60, "justification": "because"})
    assert short.status_code == 400 and short.json()["error"]["field"] == "justification"
    done = _json(client, "post", "/api/v1/requests/", {"action": "self_activate", "assignment": eligibility.pk,
                                                       "duration_minutes": 60,
                                                       "justification": "INC-9 restart the relay"})
    assert done.status_code == 201, done.json()
    body = done.json()["request"]
    assert body["status"] == "provisioned"
    assert body["approved_without_approvers"]["kind"] == "auto_approval"
    assert body["approved_without_approvers"]["rule"] == rule_id
    listed = client.get("/api/v1/requests/").json()["results"]
    assert listed[0]["approved_without_approvers"]["rule_name"] == "SRE"


def test_a_roster_is_uploaded_as_a_file(setting, requester, role_admin, verified_client, auto_rule):
    rule = auto_rule(setting, on_call=True)
    response = verified_client(role_admin).post(f"/api/v1/auto-approval-rules/{rule.pk}/roster/", {
        "roster": SimpleUploadedFile("oncall.ics", ROSTER.encode(), content_type="text/calendar")})
    assert response.status_code == 200, response.json()
    assert (response.json()["shifts"], response.json()["events_naming_nobody_known"]) == (2, 1)


def test_break_glass_and_its_review(setting, requester, role_admin, eligible, rules, verified_client):
    rules(setting, allow_break_glass=True)
    client = verified_client(requester)
    eligibility = eligible(requester)
    missing = _json(client, "post", "/api/v1/break-glass/", {"assignment": eligibility.pk, "reason": "",
                                                             "duration_minutes": 60})
    assert missing.status_code == 400 and missing.json()["error"]["field"] == "reason"
    done = _json(client, "post", "/api/v1/break-glass/", {"assignment": eligibility.pk,
                                                          "reason": "Outage, approvers unreachable",
                                                          "duration_minutes": 60})
    assert done.status_code == 201, done.json()
    assert done.json()["approved_without_approvers"]["kind"] == "break_glass"
    admin = verified_client(role_admin)
    reviews = admin.get("/api/v1/break-glass-reviews/").json()
    assert [r["request"] for r in reviews] == [done.json()["id"]]
    review = BreakGlassReview.objects.get()
    own = _json(client, "post", f"/api/v1/break-glass-reviews/{review.pk}/complete/",
                {"outcome": "justified", "comment": "me"})
    assert own.status_code == 403
    completed = _json(admin, "post", f"/api/v1/break-glass-reviews/{review.pk}/complete/",
                      {"outcome": "justified", "comment": "Confirmed the outage."})
    assert completed.status_code == 200 and completed.json()["status"] == "completed"
