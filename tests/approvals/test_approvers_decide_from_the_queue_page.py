from django.urls import reverse

from approvals.models import Request


def test_approve_with_comment_and_deny_needs_a_reason(client, directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    first, second = directory.user("first"), directory.user("second")
    r1 = activate(first, directory.grant(first, "contributor", "/subscriptions/s1", kind="eligible"))
    r2 = activate(second, directory.grant(second, "contributor", "/subscriptions/s2", kind="eligible"))
    client.force_login(approver)
    page = client.get(reverse("approvals:queue")).content.decode()
    assert "First" in page and "Second" in page and "/subscriptions/s1" in page and "incident 42" in page

    response = client.post(reverse("approvals:approve", args=[r1.pk]), {"comment": "go ahead"}, follow=True)
    assert b"You approved" in response.content
    r1.refresh_from_db()
    assert r1.status == Request.Status.PROVISIONED

    response = client.post(reverse("approvals:deny", args=[r2.pk]), {"comment": ""}, follow=True)
    assert b"Say why you deny" in response.content
    r2.refresh_from_db()
    assert r2.status == Request.Status.PENDING_APPROVAL
    response = client.post(reverse("approvals:deny", args=[r2.pk]), {"comment": "wrong subscription"}, follow=True)
    assert b"You denied" in response.content
    r2.refresh_from_db()
    assert r2.status == Request.Status.DENIED

    # The requester sees both outcomes in the timeline.
    client.force_login(second)
    page = client.get(reverse("approvals:my_requests")).content.decode()
    assert "wrong subscription" in page and "Denied" in page


def test_deciding_twice_is_a_message_not_an_error(client, directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    user = directory.user("first")
    request = activate(user, directory.grant(user, "contributor", "/subscriptions/s1", kind="eligible"))
    client.force_login(approver)
    client.post(reverse("approvals:approve", args=[request.pk]))
    response = client.post(reverse("approvals:approve", args=[request.pk]), follow=True)
    assert response.status_code == 200 and b"no longer pending" in response.content
