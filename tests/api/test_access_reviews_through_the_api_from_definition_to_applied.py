"""Access reviews through the API, with the pages' services: an administrator creates a review, the beat
starts it, the named reviewer reads their items and decides (deny needs a reason), the administrator stops
it early and applies the results (the denied eligibility ends), and reads the results. Who may do what is
the pages' rule: people only, administrators of the role for definitions and results, reviewers for their
own items."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent
from reviews import tasks

from .conftest import eligible_of


def _post(persona, url, body=None):
    return persona.client().post(url, body or {}, format="json")


def _create(admin_p, approver_p, **extra):
    return _post(admin_p, "/api/v1/reviews/", {
        "name": "Helpdesk recertification", "roles": ["helpdesk-administrator"], "scope": "/",
        "start_date": timezone.now().date().isoformat(), "duration_days": 7, "assignment_kinds": "eligible",
        "reviewers": [approver_p.principal.pk], **extra})


def test_from_definition_to_applied(world, admin_p, approver_p, requester_p, auditor_p, sp_p):
    created = _create(admin_p, approver_p)
    assert created.status_code == 201, created.json()
    review_id = created.json()[0]["id"]
    assert AuditEvent.objects.filter(action="review.create", target_id=str(review_id)).exists()
    listed = admin_p.client().get("/api/v1/reviews/").json()["results"]
    assert [r["id"] for r in listed] == [review_id]
    detail = admin_p.client().get(f"/api/v1/reviews/{review_id}/").json()
    instance_id = detail["instances"][0]["id"]
    assert detail["instances"][0]["status"] == "not_started"

    assert tasks.reviews_start() == 1  # the beat starts it
    target = eligible_of(requester_p, "helpdesk-administrator")
    mine = approver_p.client().get("/api/v1/my-reviews/").json()
    assert [(m["instance"]["id"], m["pending"]) for m in mine] == [(instance_id, 1)]
    items = approver_p.client().get(f"/api/v1/my-reviews/{instance_id}/items/").json()["results"]
    assert [i["assignment"] for i in items] == [target.pk]
    item_id = items[0]["id"]

    # Not the approver's to decide for others; the requester has no items; deny needs a reason.
    assert _post(requester_p, f"/api/v1/my-reviews/{instance_id}/decide/",
                 {"items": [item_id], "decision": "approve"}).status_code == 403
    no_reason = _post(approver_p, f"/api/v1/my-reviews/{instance_id}/decide/", {"items": [item_id], "decision": "deny"})
    assert no_reason.status_code == 400 and no_reason.json()["error"]["field"] == "reason"
    decided = _post(approver_p, f"/api/v1/my-reviews/{instance_id}/decide/",
                    {"items": [item_id], "decision": "deny", "reason": "Left the helpdesk"})
    assert decided.status_code == 200 and decided.json() == {"decided": 1}

    # Results and control are for the role's administrators; reviewers and machines get nothing.
    assert approver_p.client().get(f"/api/v1/review-instances/{instance_id}/").status_code == 404
    assert _post(approver_p, f"/api/v1/review-instances/{instance_id}/complete/").status_code in (403, 404)
    assert sp_p.client().get("/api/v1/reviews/").status_code == 403
    assert requester_p.client().get("/api/v1/reviews/").status_code == 403
    assert auditor_p.client().get(f"/api/v1/reviews/{review_id}/").status_code == 200  # a directory reader

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):  # past the 5-minute removal rule
        too_early = _post(admin_p, f"/api/v1/review-instances/{instance_id}/apply/")
        assert too_early.status_code == 409, too_early.json()  # still in progress
        completed = _post(admin_p, f"/api/v1/review-instances/{instance_id}/complete/")
        assert completed.status_code == 200 and completed.json()["completed"] is True
        assert completed.json()["instance"]["status"] == "completed"
        again = _post(admin_p, f"/api/v1/review-instances/{instance_id}/complete/")
        assert again.status_code == 200 and again.json()["completed"] is False
        applied = _post(admin_p, f"/api/v1/review-instances/{instance_id}/apply/")
        assert applied.status_code == 200, applied.json()
        assert (applied.json()["removed"], applied.json()["finished"]) == (1, True)

    target.refresh_from_db()
    assert target.status == Assignment.Status.ENDED
    results = admin_p.client().get(f"/api/v1/review-instances/{instance_id}/items/").json()["results"]
    assert [(r["decision"], r["reason"], r["decided_by"], r["apply_state"]) for r in results] == [
        ("deny", "Left the helpdesk", approver_p.user.username, "removed")]
    assert AuditEvent.objects.filter(action="review.decide", actor_id=approver_p.user.pk).exists()


def test_bad_definitions_are_400_with_the_field(world, admin_p, approver_p, requester_p):
    past = _create(admin_p, approver_p, start_date=(timezone.now() - timedelta(days=3)).date().isoformat())
    assert past.status_code == 400 and past.json()["error"]["field"] == "start_date"
    nobody = _create(admin_p, approver_p, reviewers=[])
    assert nobody.status_code == 400 and nobody.json()["error"]["field"] == "reviewers"
    overlap = _create(admin_p, approver_p, recurrence="weekly", duration_days=10)
    assert overlap.status_code == 400 and overlap.json()["error"]["field"] == "duration_days"
    assert _create(requester_p, approver_p).status_code == 403
