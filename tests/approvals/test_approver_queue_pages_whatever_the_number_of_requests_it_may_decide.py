"""Someone who may decide many requests (an Owner at `/`: every resource activation falls back to them)
reads the queue a page at a time, oldest first, in the page and in the API: a page runs the same
number of queries with 3 or 55 decidable requests, Next / Previous (the page) and the cursor (the API)
walk every request once, and the bulk approval works on the page it was made on and comes back to it."""

from urllib.parse import parse_qs, urlparse

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from approvals import selectors
from approvals.models import Request


def _queries(call):
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return result, len(ctx.captured_queries)


def _ids(response) -> list[str]:
    body = response.content.decode()
    return [part.split('"', 1)[0] for part in body.split('name="ids" value="')[1:]]


def _cursor(response, rel: str) -> dict:
    body = response.content.decode()
    marker = f'rel="{rel}" href="'
    if marker not in body:
        return {}
    href = body.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")
    return {k: v[0] for k, v in parse_qs(urlparse(href).query).items()}


def _requests(directory, activate, n: int, start: int = 0) -> list[Request]:
    made = []
    for i in range(start, start + n):
        user = directory.user(f"req{i}")
        made.append(activate(user, directory.grant(user, "contributor", f"/subscriptions/p{i}", kind="eligible")))
    return made


def test_the_queue_page_and_api_page_through_many_decidable_requests_in_constant_queries(
        client, directory, policy, activate):
    policy("contributor", require_approval=True)  # nobody named: the Owners at the scope or above decide
    owner = directory.user("root-owner")
    directory.grant(owner, "owner", directory.root)
    client.force_login(owner)
    made = _requests(directory, activate, 3)
    small, small_queries = _queries(lambda: client.get(reverse("approvals:queue")))
    assert _ids(small) == [str(r.pk) for r in made] and not _cursor(small, "next")
    api_small, api_small_queries = _queries(lambda: client.get("/api/v1/approvals/", {"page_size": 20}))
    assert [row["id"] for row in api_small.json()["results"]] == [str(r.pk) for r in made]

    made += _requests(directory, activate, 52, start=3)
    expected = [str(r.pk) for r in made]  # oldest first
    first, first_queries = _queries(lambda: client.get(reverse("approvals:queue")))
    assert _ids(first) == expected[:selectors.QUEUE_PAGE_SIZE]
    assert first.content.decode().count('data-testid="approval-request"') == selectors.QUEUE_PAGE_SIZE
    assert first_queries == small_queries, (first_queries, small_queries)
    second, second_queries = _queries(lambda: client.get(reverse("approvals:queue"), _cursor(first, "next")))
    assert _ids(second) == expected[selectors.QUEUE_PAGE_SIZE:]
    assert not _cursor(second, "next")
    assert second_queries == small_queries
    back = client.get(reverse("approvals:queue"), _cursor(second, "prev"))
    assert _ids(back) == expected[:selectors.QUEUE_PAGE_SIZE] and not _cursor(back, "prev")

    seen, page_queries = [], []
    response, count = _queries(lambda: client.get("/api/v1/approvals/", {"page_size": 20}))
    while True:
        page_queries.append(count)
        seen += [row["id"] for row in response.json()["results"]]
        if not response.json()["next"]:
            break
        following = response.json()["next"]
        response, count = _queries(lambda url=following: client.get(url))
    assert seen == expected
    assert len(page_queries) == 3 and set(page_queries) == {api_small_queries}, (page_queries, api_small_queries)


def test_a_hand_edited_cursor_shows_the_first_page(client, directory, policy, activate):
    policy("contributor", require_approval=True)
    owner = directory.user("root-owner")
    directory.grant(owner, "owner", directory.root)
    made = _requests(directory, activate, 2)
    client.force_login(owner)
    for bad in ("x", "12.not-a-uuid", "9" * 40 + ".0", ""):
        response = client.get(reverse("approvals:queue"), {"after": bad, "before": bad})
        assert response.status_code == 200 and _ids(response) == [str(r.pk) for r in made]


def test_bulk_approval_on_a_later_page_approves_that_page_and_comes_back_to_it(
        client, directory, policy, activate):
    policy("contributor", require_approval=True)
    owner = directory.user("root-owner")
    directory.grant(owner, "owner", directory.root)
    made = _requests(directory, activate, selectors.QUEUE_PAGE_SIZE + 3)
    client.force_login(owner)
    first = client.get(reverse("approvals:queue"))
    place = _cursor(first, "next")
    second = client.get(reverse("approvals:queue"), place)
    body = second.content.decode()
    assert f'name="after" value="{place["after"]}"' in body  # the bulk form says which page it is on
    chosen = _ids(second)[:2]
    response = client.post(reverse("approvals:approve_bulk"), {"ids": chosen, "comment": "page two", **place})
    assert "2 of 2 selected requests approved" in response.content.decode()
    assert set(Request.objects.filter(status=Request.Status.PROVISIONED, action=Request.Action.SELF_ACTIVATE)
               .values_list("pk", flat=True)) == {
        r.pk for r in made if str(r.pk) in chosen}
    empty = client.post(reverse("approvals:approve_bulk"), {"comment": "nothing", **place})
    assert empty.status_code == 302 and empty["Location"] == reverse("approvals:queue") + f"?after={place['after']}"
