import uuid

from django.urls import reverse

from approvals.models import Request


def test_unknown_ids_are_404(client, requester):
    client.force_login(requester)
    assert client.get(reverse("approvals:activate", args=[999999])).status_code == 404
    assert client.post(reverse("approvals:deactivate", args=[999999])).status_code == 404
    assert client.get(reverse("approvals:request_detail", args=[uuid.uuid4()])).status_code == 404
    assert client.post(reverse("approvals:approve", args=[uuid.uuid4()])).status_code == 404
    assert client.get("/requests/not-a-uuid/").status_code == 404


def test_someone_elses_eligibility_and_request_are_403_with_a_reason(client, directory, requester, policy, eligible,
                                                                     activate, approver):
    policy("helpdesk-administrator", require_approval=True, approvers=[approver])
    other = directory.user("other")
    theirs = eligible(other)
    request = activate(other, theirs)
    client.force_login(requester)
    response = client.get(reverse("approvals:activate", args=[theirs.pk]))
    assert response.status_code == 403 and b"not yours" in response.content
    assert client.get(reverse("approvals:request_detail", args=[request.pk])).status_code == 403
    assert client.post(reverse("approvals:cancel", args=[request.pk])).status_code == 403
    response = client.post(reverse("approvals:approve", args=[request.pk]))
    assert response.status_code == 403
    request.refresh_from_db()
    assert request.status == Request.Status.PENDING_APPROVAL


def test_a_tampered_scope_and_an_out_of_range_duration_are_form_errors(client, directory, requester, policy,
                                                                       eligible):
    policy("contributor", max_activation_minutes=60)
    mine = directory.grant(requester, "contributor", "/subscriptions/s1", kind="eligible")
    elsewhere = directory.scope("/subscriptions/s2")
    client.force_login(requester)
    url = reverse("approvals:activate", args=[mine.pk])
    response = client.post(url, {"scope": elsewhere.pk, "duration_minutes": 30})
    assert response.status_code == 400 and b"valid choice" in response.content
    response = client.post(url, {"scope": mine.scope_id, "duration_minutes": 6000})
    assert response.status_code == 400 and b"At most 1 h" in response.content
    response = client.post(url, {"scope": mine.scope_id, "duration_minutes": "lots"})
    assert response.status_code == 400
    assert not Request.objects.filter(action="self_activate").exists()
