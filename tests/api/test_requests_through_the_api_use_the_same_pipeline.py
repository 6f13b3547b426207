"""Self-service and administrator requests filed through the API go through the portal's services."""

from datetime import timedelta

from django.utils import timezone

from approvals.models import Request
from assignments.models import Assignment
from audit.models import AuditEvent

from .conftest import eligible_of


def _post(persona, url, body=None):
    return persona.client().post(url, body or {}, format="json")


def test_requester_activates_with_a_ticket_and_the_check_sees_it_at_once(world, requester_p, auditor_p):
    eligible = eligible_of(requester_p, "helpdesk-administrator")
    refused = _post(requester_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible.pk,
                                                       "duration_minutes": 60, "justification": "incident"})
    assert refused.status_code == 400
    assert refused.json()["error"]["field"] == "ticket_number"
    response = _post(requester_p, "/api/v1/requests/", {
        "action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60, "justification": "incident",
        "ticket_system": "jira", "ticket_number": "OPS-1"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["request"]["status"] == "provisioned"
    activation = body["assignment"]
    check = auditor_p.client().get("/api/v1/check", {"principal": requester_p.principal.pk,
                                                      "role": "helpdesk-administrator"}).json()
    assert check["allowed"] and check["assignment"] == activation["id"]


def test_activation_needing_approval_waits_and_the_approver_approves(world, requester_p, approver_p):
    eligible = eligible_of(requester_p, "user-administrator")
    response = _post(requester_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible.pk,
                                                        "duration_minutes": 60, "justification": "onboarding"})
    assert response.status_code == 201, response.json()
    request_id = response.json()["request"]["id"]
    assert response.json()["request"]["status"] == "pending_approval"
    queue = approver_p.client().get("/api/v1/approvals/").json()["results"]
    assert [r["id"] for r in queue] == [request_id]
    # Nobody approves their own request.
    own = _post(requester_p, f"/api/v1/approvals/{request_id}/approve/")
    assert own.status_code in (403, 404)
    approved = _post(approver_p, f"/api/v1/approvals/{request_id}/approve/", {"comment": "ok"})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "provisioned"
    assert approver_p.client().get("/api/v1/approvals/").json()["results"] == []
    again = _post(approver_p, f"/api/v1/approvals/{request_id}/approve/", {"comment": "twice"})
    assert again.status_code in (404, 409)


def test_deny_needs_a_reason(world, requester_p, approver_p):
    eligible = eligible_of(requester_p, "user-administrator")
    request_id = _post(requester_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible.pk,
                                                          "duration_minutes": 60, "justification": "x"}).json()[
        "request"]["id"]
    no_reason = _post(approver_p, f"/api/v1/approvals/{request_id}/deny/", {})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "comment"
    denied = _post(approver_p, f"/api/v1/approvals/{request_id}/deny/", {"comment": "not now"})
    assert denied.status_code == 200 and denied.json()["status"] == "denied"


def test_requester_cancels_a_pending_request_but_others_cannot(world, requester_p, approver_p):
    eligible = eligible_of(requester_p, "user-administrator")
    request_id = _post(requester_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible.pk,
                                                          "duration_minutes": 60, "justification": "x"}).json()[
        "request"]["id"]
    assert _post(approver_p, f"/api/v1/requests/{request_id}/cancel/").status_code in (403, 404)
    canceled = _post(requester_p, f"/api/v1/requests/{request_id}/cancel/")
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert _post(requester_p, f"/api/v1/requests/{request_id}/cancel/").status_code == 409
    mine = requester_p.client().get("/api/v1/requests/").json()["results"]
    assert [r["id"] for r in mine] == [request_id]


def test_admin_assigns_updates_extends_and_removes_through_requests(world, admin_p, directory):
    target = directory.user("target")
    client = admin_p.client()
    created = client.post("/api/v1/requests/", {
        "action": "admin_assign", "principal": "target", "role": "exchange-administrator", "scope": "/",
        "kind": "eligible", "end_at": (timezone.now() + timedelta(days=10)).isoformat(), "justification": "team"},
        format="json")
    assert created.status_code == 201, created.json()
    assignment_id = created.json()["assignment"]["id"]
    extended = client.post("/api/v1/requests/", {
        "action": "admin_extend", "assignment": assignment_id,
        "end_at": (timezone.now() + timedelta(days=60)).isoformat()}, format="json")
    assert extended.status_code == 201, extended.json()
    too_soon = client.post("/api/v1/requests/", {"action": "admin_remove", "assignment": assignment_id},
                           format="json")
    assert too_soon.status_code == 400  # not within 5 minutes of creation
    Assignment.objects.filter(pk=assignment_id).update(created_at=timezone.now() - timedelta(minutes=6))
    removed = client.post("/api/v1/requests/", {"action": "admin_remove", "assignment": assignment_id},
                          format="json")
    assert removed.status_code == 201 and removed.json()["assignment"]["status"] == "ended"
    assert Request.objects.filter(assignment_id=assignment_id, action="admin_remove").exists()
    assert target.principal.assignments.get(pk=assignment_id).end_reason == "removed"


def test_requester_cannot_do_administrator_actions(world, requester_p, directory):
    target = directory.user("target")
    response = _post(requester_p, "/api/v1/assignments/", {
        "principal": target.principal.pk, "role": "global-administrator", "scope": "/", "kind": "active",
        "end_at": (timezone.now() + timedelta(days=1)).isoformat(), "justification": "please"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert not Assignment.objects.filter(principal=target.principal).exists()
    # Both the service's own record of the refusal and the token's are kept.
    assert AuditEvent.objects.filter(action="assignment.create", outcome="denied",
                                     actor_id=requester_p.user.pk).exists()
    assert AuditEvent.objects.filter(action="api.write", outcome="denied", actor_id=requester_p.user.pk).exists()


def test_requester_deactivates_own_activation_after_five_minutes(world, requester_p):
    import time_machine

    eligible = eligible_of(requester_p, "helpdesk-administrator")
    activation = _post(requester_p, "/api/v1/requests/", {
        "action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60, "justification": "i",
        "ticket_system": "jira", "ticket_number": "OPS-2"}).json()["assignment"]["id"]
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        response = _post(requester_p, "/api/v1/requests/", {"action": "self_deactivate", "assignment": activation})
        assert response.status_code == 201, response.json()
        assert response.json()["assignment"]["status"] == "ended"
