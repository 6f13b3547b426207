"""Through the API, the approver of an extension or renewal may send the start and end to approve; they
go through the same service as the page (checked, audited with the requested values) and the schema
documents them."""

from datetime import timedelta

from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent


def test_extension_approved_with_another_end(world, directory, requester_p, admin_p):
    soon = timezone.now() + timedelta(days=5)
    eligibility = directory.grant(requester_p.user, "exchange-administrator", kind="eligible", end=soon)
    asked = timezone.now() + timedelta(days=60)
    created = requester_p.client().post("/api/v1/requests/", {
        "action": "self_extend", "assignment": eligibility.pk, "end_at": asked.isoformat(),
        "justification": "project continues"}, format="json")
    assert created.status_code == 201, created.json()
    request_id = created.json()["request"]["id"]
    url = f"/api/v1/approvals/{request_id}/approve/"

    too_early = admin_p.client().post(url, {"end_at": (soon - timedelta(days=1)).isoformat()}, format="json")
    assert too_early.status_code == 400 and too_early.json()["error"]["field"] == "end_at"
    naive = admin_p.client().post(url, {"end_at": "next tuesday"}, format="json")
    assert naive.status_code == 400  # never a 500

    approved_end = timezone.now() + timedelta(days=30)
    response = admin_p.client().post(url, {"end_at": approved_end.isoformat(), "comment": "a month"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "provisioned" and body["end_at"][:16] == approved_end.isoformat()[:16]
    assert "asked: until" in body["status_message"]
    assert abs(Assignment.objects.get(pk=eligibility.pk).end_at - approved_end) < timedelta(seconds=1)
    event = AuditEvent.objects.get(action="request.approve", correlation_id=request_id, outcome="success")
    assert event.before["end_at"][:16] == asked.isoformat()[:16]


def test_schema_documents_the_dates(world, admin_p):
    schema = admin_p.client().get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    text = schema.content.decode()
    assert schema.status_code == 200
    assert "Extensions and renewals only: the end to approve" in text
