"""The request catalogue in the page (one form for several roles, one page showing the batch where each
item is decided on its own) and in the API (the batch, then each item through /approvals/)."""

import json
from datetime import timedelta

from django.utils import timezone

from approvals.models import Request
from selfservice.models import RequestBatch


def _future(days=20):
    return (timezone.localtime() + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")


def test_one_form_several_roles_one_page_each_decided_on_its_own(directory, requester, role_admin, verified_client):
    client = verified_client(requester)
    assert client.get("/request-rules/catalogue/").status_code == 200
    bad = client.post("/request-rules/catalogue/", {"role_0": "helpdesk-administrator", "scope_0": "/nowhere",
                                                    "end_at": _future(), "justification": "x"})
    assert bad.status_code == 400 and "There is no scope /nowhere." in bad.content.decode()
    sent = client.post("/request-rules/catalogue/", {
        "role_0": "helpdesk-administrator", "scope_0": "/", "role_1": "exchange-administrator", "scope_1": "/",
        "end_at": _future(), "justification": "Joining the messaging team"})
    assert sent.status_code == 302, sent.content.decode()[:2000]
    batch = RequestBatch.objects.get()
    assert sent["Location"] == f"/request-rules/batches/{batch.pk}/"
    first, second = [item.request for item in batch.items.order_by("position")]
    admin = verified_client(role_admin)
    page = admin.get(f"/request-rules/batches/{batch.pk}/").content.decode()
    assert "Approve Helpdesk Administrator" in page and "Approve Exchange Administrator" in page
    approved = admin.post(f"/request-rules/batches/{batch.pk}/{first.pk}/decide/", {"decision": "approve"})
    assert approved.status_code == 302
    refused = admin.post(f"/request-rules/batches/{batch.pk}/{second.pk}/decide/", {"decision": "deny", "comment": ""})
    assert refused.status_code == 302  # a denial needs a reason: nothing decided, the message says so
    assert Request.objects.get(pk=second.pk).status == Request.Status.PENDING_APPROVAL
    admin.post(f"/request-rules/batches/{batch.pk}/{second.pk}/decide/", {"decision": "deny",
                                                                          "comment": "Not in the team yet"})
    statuses = dict(Request.objects.filter(pk__in=[first.pk, second.pk]).values_list("pk", "status"))
    assert statuses == {first.pk: "provisioned", second.pk: "denied"}
    outsider = verified_client(directory.user("outsider"))
    assert outsider.get(f"/request-rules/batches/{batch.pk}/").status_code == 403


def test_the_api_files_a_batch_and_each_item_is_approved_through_approvals(requester, role_admin, verified_client):
    client = verified_client(requester)
    body = {"items": [{"role": "helpdesk-administrator", "scope": "/"}, {"role": "exchange-administrator",
                                                                         "scope": "/"}],
            "end_at": (timezone.now() + timedelta(days=20)).isoformat(), "justification": "Messaging team"}
    created = client.post("/api/v1/eligibility-requests/", json.dumps(body), content_type="application/json")
    assert created.status_code == 201, created.json()
    batch = created.json()
    assert [item["role_slug"] for item in batch["items"]] == ["helpdesk-administrator", "exchange-administrator"]
    assert all(item["action"] == "self_eligibility" and not item["can_decide"] for item in batch["items"])
    again = client.post("/api/v1/eligibility-requests/", json.dumps(body), content_type="application/json")
    assert again.status_code == 409
    admin = verified_client(role_admin)
    seen = admin.get(f"/api/v1/request-batches/{batch['id']}/").json()
    assert [item["can_decide"] for item in seen["items"]] == [True, True]
    approved = admin.post(f"/api/v1/approvals/{seen['items'][0]['id']}/approve/", json.dumps({"comment": "ok"}),
                          content_type="application/json")
    assert approved.status_code == 200 and approved.json()["status"] == "provisioned"
    assert approved.json()["assignment"] is not None
    bad = client.post("/api/v1/eligibility-requests/", json.dumps({**body, "items": [
        {"role": "global-administrator", "scope": "/subscriptions/none"}]}), content_type="application/json")
    assert bad.status_code == 400
