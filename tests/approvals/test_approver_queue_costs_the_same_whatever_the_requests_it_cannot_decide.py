"""The approver queue is one SQL filter driven from the approver's side: its query count is the same
with 1 or 40 requests the approver may not decide, and with 1 or 10 they may; an approver who may
decide nothing never reads the requests at all. The page, the API and the decision agree."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals import selectors
from approvals.models import Request


def _queries(call):
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return result, [q["sql"] for q in ctx.captured_queries]


def test_queue_query_count_does_not_grow_with_undecidable_or_decidable_requests(
        client, directory, policy, activate, approver):
    policy("contributor", require_approval=True, approvers=[approver])
    other = directory.user("other-approver")
    policy("reader", require_approval=True, approvers=[other])
    policy("owner", require_approval=True)  # nobody named: the resource's Owners decide
    made = {"n": 0}

    def request(slug):
        made["n"] += 1
        user = directory.user(f"req{made['n']}")
        eligibility = directory.grant(user, slug, f"/subscriptions/q{made['n']}", kind="eligible")
        return activate(user, eligibility)

    mine = [request("contributor")]
    request("reader")
    request("owner")
    queue, small = _queries(lambda: selectors.request_list_pending_for_approver(user=approver))
    assert [r.pk for r in queue] == [r.pk for r in mine]

    for _ in range(20):
        request("reader")
        request("owner")
    mine += [request("contributor") for _ in range(9)]
    queue, large = _queries(lambda: selectors.request_list_pending_for_approver(user=approver))
    assert [r.pk for r in queue] == [r.pk for r in mine]
    assert len(large) == len(small), "\n".join(large)

    client.force_login(approver)
    page, page_queries = _queries(lambda: client.get(reverse("approvals:queue")))
    assert page.content.decode().count('data-testid="approval-request"') == len(mine)
    api, _ = _queries(lambda: client.get("/api/v1/approvals/"))
    assert [row["id"] for row in api.json()["results"]] == [str(r.pk) for r in mine]
    for r in mine:
        assert selectors.approver_can_decide(user=approver, request=r)
    undecidable = Request.objects.filter(action=Request.Action.SELF_ACTIVATE).exclude(pk__in=[r.pk for r in mine])
    assert undecidable.count() == 42
    assert not any(selectors.approver_can_decide(user=approver, request=r) for r in undecidable)
    print(f"approver queue: {len(large)} queries (selector), {len(page_queries)} (page)")


def test_an_approver_who_may_decide_nothing_never_reads_the_requests(directory, policy, activate):
    policy("contributor", require_approval=True)  # fallback: the resources' Owners
    for i in range(5):
        user = directory.user(f"req{i}")
        activate(user, directory.grant(user, "contributor", f"/subscriptions/n{i}", kind="eligible"))
    bystander = directory.user("bystander")
    queue, queries = _queries(lambda: selectors.request_list_pending_for_approver(user=bystander))
    assert queue == []
    assert not any(Request._meta.db_table in sql for sql in queries), queries
    # Four small queries about the bystander: their groups, what they hold, the policies and approval
    # stages naming them (one UNION), and the delegations made to them.
    assert len(queries) <= 4
