"""The Assignments page pages by keyset (Next → / ← Previous), in the order an index serves (role,
scope, type, state, id): every row once, no COUNT, no OFFSET, the same number of queries on the first
and on a later page; a cursor that is not one shows the first page. The API's cursor list agrees."""

import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment

ROW = re.compile(r'href="/manage/assignments/(\d+)/"')


def _page(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    ids = [int(pk) for pk in ROW.findall(html)]
    after = re.search(r'rel="next" href="\?([^"]*)"', html)
    before = re.search(r'rel="prev" href="\?([^"]*)"', html)
    sql = [q["sql"] for q in ctx.captured_queries]
    return ids, (after.group(1).replace("&amp;", "&") if after else None), \
        (before.group(1).replace("&amp;", "&") if before else None), sql


def test_owner_walks_every_row_once_in_index_order_with_constant_queries(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/")
    end = timezone.now() + timedelta(days=30)
    for i in range(60):
        user = directory.user()
        directory.grant(user, "contributor", f"/subscriptions/s{i % 3}", kind="eligible", end=end)
        directory.grant(user, "reader", f"/subscriptions/s{i % 4}", kind="eligible", end=end)
    client = login(owner)
    base = reverse("assignments:list")
    expected = list(Assignment.objects.filter(kind="eligible", role__kind="resource")
                    .order_by("role_id", "scope_id", "kind", "status", "id").values_list("pk", flat=True))
    assert len(expected) == 120

    first, after, before, first_sql = _page(client, base)
    assert len(first) == 50 and before is None and after
    second, after2, before2, second_sql = _page(client, f"{base}?{after}")
    third, after3, before3, _ = _page(client, f"{base}?{after2}")
    assert first + second + third == expected
    assert after3 is None and len(third) == 20
    assert len(second_sql) == len(first_sql)
    assert not any("COUNT(" in q.upper() or "OFFSET" in q.upper() or "DISTINCT" in q.upper() for q in second_sql)

    back, _, back_before, _ = _page(client, f"{base}?{before3}")
    assert back == second
    back_to_first, _, none_before, _ = _page(client, f"{base}?{back_before}")
    assert back_to_first == first and none_before is None

    for bogus in ("after=1.2.3", "after=x.y.eligible.live.z", "before=1.1.nonsense.live.1", "after=%00"):
        ids, _, _, _ = _page(client, f"{base}?{bogus}")
        assert ids == first, bogus


def test_api_cursor_list_shows_each_visible_assignment_once(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    directory.grant(owner, "reader", "/subscriptions/s1", kind="eligible")  # visible twice over: own and owned
    for _ in range(3):
        directory.grant(directory.user(), "contributor", "/subscriptions/s1/resourceGroups/rg1", kind="eligible")
    directory.grant(directory.user(), "contributor", "/subscriptions/s2", kind="eligible")  # not theirs
    client = login(owner)
    results = client.get("/api/v1/assignments/?page_size=2").json()
    seen = [row["id"] for row in results["results"]]
    while results.get("next"):
        results = client.get(results["next"]).json()
        seen += [row["id"] for row in results["results"]]
    expected = set(Assignment.objects.filter(scope__path__startswith="/subscriptions/s1").values_list("pk", flat=True))
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen)) == 5
