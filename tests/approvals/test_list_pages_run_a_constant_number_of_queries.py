"""My roles, My requests and the Approvals queue: the same number of queries for 1 and for 50 rows."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse


def _count(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


def _eligible_at_subscriptions(directory, user, start, stop):
    return [directory.grant(user, "contributor", f"/subscriptions/s{i}", kind="eligible") for i in range(start, stop)]


def test_my_roles_and_my_requests(client, directory, requester, policy, activate):
    policy("contributor")
    client.force_login(requester)
    first = _eligible_at_subscriptions(directory, requester, 0, 2)
    activate(requester, first[0])
    counts_small = (_count(client, reverse("approvals:my_roles"))[0],
                    _count(client, reverse("approvals:my_requests"))[0])

    more = _eligible_at_subscriptions(directory, requester, 2, 60)
    for eligibility in more[:49]:
        activate(requester, eligibility)
    roles_count, roles_page = _count(client, reverse("approvals:my_roles"))
    requests_count, requests_page = _count(client, reverse("approvals:my_requests"))
    assert roles_page.content.decode().count("Deactivate") == 50
    assert requests_page.content.decode().count('data-testid="request"') == 25  # a page of the history
    assert "Page 1 of 2" in requests_page.content.decode()
    assert (roles_count, requests_count) == counts_small
    print(f"my roles: {roles_count} queries; my requests: {requests_count} queries")


def test_approvals_queue(client, directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    client.force_login(approver)

    def add(i):
        user = directory.user(f"req{i}")
        eligibility = directory.grant(user, "contributor", f"/subscriptions/q{i}", kind="eligible")
        activate(user, eligibility)

    add(0)
    small, page = _count(client, reverse("approvals:queue"))
    assert page.content.decode().count('data-testid="approval-request"') == 1
    for i in range(1, 50):
        add(i)
    large, page = _count(client, reverse("approvals:queue"))
    assert page.content.decode().count('data-testid="approval-request"') == 50
    assert large == small
    print(f"approvals queue: {large} queries")
