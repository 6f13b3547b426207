"""A pipeline asks, a person approves (jit-groups#139).

Where a role's policy sets `allow_service_principal_activation`, a service principal may be made eligible
(time-bound, like everything it holds) and request activation through the API with its own credential. The
request always waits for a person's approval, even when the policy requires none, and that approval stands in
for the MFA step-up a service principal cannot make. Without the flag, eligibility is refused and so is an
activation of an eligibility the policy no longer allows.
"""

from datetime import timedelta

from django.utils import timezone

from approvals.models import Request
from audit.models import AuditEvent

ROLE = "helpdesk-administrator"  # its policy: ticket required, no approval


def _post(persona, url, body=None):
    return persona.client().post(url, body or {}, format="json")


def _make_eligible(admin_p, sp_p):
    return _post(admin_p, "/api/v1/requests/", {
        "action": "admin_assign", "principal": sp_p.principal.pk, "role": ROLE, "scope": "/", "kind": "eligible",
        "end_at": (timezone.now() + timedelta(days=30)).isoformat(), "justification": "release pipeline"})


def _allow(admin_p, allowed: bool):
    response = _post(admin_p, "/api/v1/role-settings/", {"reason": "test", "role": ROLE, "scope": "/",
                                                          "allow_service_principal_activation": allowed})
    assert response.status_code == 200, response.json()
    assert response.json()["allow_service_principal_activation"] is allowed


def _check(auditor_p, sp_p) -> bool:
    return auditor_p.client().get("/api/v1/check", {"principal": sp_p.principal.pk, "role": ROLE}).json()["allowed"]


def _activate(sp_p, eligible_id, **extra):
    return _post(sp_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible_id,
                                             "duration_minutes": 60, "justification": "deploy 4711",
                                             "ticket_system": "jira", "ticket_number": "REL-4711", **extra})


def test_without_the_flag_a_service_principal_cannot_be_made_eligible(world, admin_p, sp_p):
    refused = _make_eligible(admin_p, sp_p)
    assert refused.status_code == 400
    assert "cannot be eligible" in refused.json()["error"]["message"]


def test_a_pipeline_asks_and_a_person_approves_end_to_end(world, admin_p, sp_p, auditor_p, requester_p):
    _allow(admin_p, True)
    made = _make_eligible(admin_p, sp_p)
    assert made.status_code == 201, made.json()
    eligible_id = made.json()["assignment"]["id"]
    # Permanent eligibility stays refused: a service principal holds only time-bound assignments.
    permanent = _post(admin_p, "/api/v1/requests/", {
        "action": "admin_assign", "principal": sp_p.principal.pk, "role": "user-administrator", "scope": "/",
        "kind": "eligible", "justification": "x"})
    assert permanent.status_code == 400

    # The policy's own requirements still apply to the machine (here: a ticket).
    no_ticket = _post(sp_p, "/api/v1/requests/", {"action": "self_activate", "assignment": eligible_id,
                                                  "duration_minutes": 60, "justification": "deploy"})
    assert no_ticket.status_code == 400 and no_ticket.json()["error"]["field"] == "ticket_number"

    asked = _activate(sp_p, eligible_id)
    assert asked.status_code == 201, asked.json()
    request_id = asked.json()["request"]["id"]
    # Waits for a person although the policy requires no approval for people.
    assert asked.json()["request"]["status"] == "pending_approval"
    assert asked.json()["assignment"] is None
    assert not _check(auditor_p, sp_p)
    assert _activate(sp_p, eligible_id).status_code == 409  # one open request per eligibility

    # The machine sees its own request, cannot decide it; a person who is no approver cannot either.
    assert sp_p.client().get(f"/api/v1/requests/{request_id}/").status_code == 200
    assert _post(sp_p, f"/api/v1/approvals/{request_id}/approve/").status_code == 403
    assert _post(requester_p, f"/api/v1/approvals/{request_id}/approve/").status_code in (403, 404)

    # No approver named: the role's administrators (the Privileged Role Administrator) decide.
    queue = admin_p.client().get("/api/v1/approvals/").json()["results"]
    assert request_id in [r["id"] for r in queue]
    approved = _post(admin_p, f"/api/v1/approvals/{request_id}/approve/", {"comment": "release approved"})
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "provisioned"
    assert _check(auditor_p, sp_p)

    stored = Request.objects.get(pk=request_id)
    assert stored.requested_by is None and stored.principal_id == sp_p.principal.pk
    activation = stored.assignment
    assert activation.activated_from_id == eligible_id
    assert activation.end_at - activation.start_at == timedelta(minutes=60)
    asked_event = AuditEvent.objects.get(action="request.self_activate", outcome="success",
                                         correlation_id=request_id)
    assert asked_event.actor_label.endswith("(service principal)")
    activated = AuditEvent.objects.get(action="assignment.activate", correlation_id=request_id)
    assert activated.actor_label.endswith("(service principal)")
    # The request's timeline names the machine as the requester, not "system".
    from approvals.selectors import request_timeline

    assert request_timeline(request=stored)[0].who == f"{sp_p.principal.display_name} (service principal)"


def test_turning_the_flag_off_stops_activation_of_an_existing_eligibility(world, admin_p, sp_p):
    _allow(admin_p, True)
    eligible_id = _make_eligible(admin_p, sp_p).json()["assignment"]["id"]
    _allow(admin_p, False)
    refused = _activate(sp_p, eligible_id)
    assert refused.status_code == 403
    assert "does not allow service principals" in refused.json()["error"]["message"]
    assert not Request.objects.filter(principal=sp_p.principal, action="self_activate").exists()
    assert AuditEvent.objects.filter(action="request.self_activate", outcome="denied").exists()


def test_a_service_principal_cannot_activate_someone_elses_eligibility(world, admin_p, sp_p, requester_p):
    _allow(admin_p, True)
    from .conftest import eligible_of

    theirs = eligible_of(requester_p, ROLE)
    refused = _activate(sp_p, theirs.pk)
    assert refused.status_code == 403
    assert "not this service principal's" in refused.json()["error"]["message"]
