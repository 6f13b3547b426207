from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

LIST_QUERIES = [
    "",
    "?state=",
    "?kind=eligible&role_kind=resource&state=current",
    "?scope=/subscriptions/s1&below=on&duration=time_bound&q=user",
]


def _make_rows(directory, count):
    end = timezone.now() + timedelta(days=60)
    for _ in range(count):
        user = directory.user()
        directory.grant(user, "contributor", "/subscriptions/s1/resourceGroups/rg1", kind="eligible", end=end)


def _count(client, url):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response


def test_same_number_of_queries_for_1_and_50_rows(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    client = login(owner)
    base = reverse("assignments:list")

    _make_rows(directory, 1)
    one = {}
    for query in LIST_QUERIES:
        one[query], response = _count(client, base + query)
    assert response.content.decode().count("Contributor") >= 1

    _make_rows(directory, 49)
    for query in LIST_QUERIES:
        fifty, response = _count(client, base + query)
        assert fifty == one[query], f"{query}: {one[query]} queries for 1 row, {fifty} for 50"
        print(f"owner list {query or '(default)'}: {fifty} queries for 1 and for 50 rows")
    assert response.content.decode().count('name="ids"') == 50


def test_directory_admin_list_is_constant_too(directory, pra_client):
    base = reverse("assignments:list")
    directory.grant(directory.user(), "exchange-administrator", kind="eligible")
    one, _ = _count(pra_client, base)
    for _ in range(49):
        directory.grant(directory.user(), "exchange-administrator", kind="eligible")
    fifty, response = _count(pra_client, base)
    assert one == fifty
    print(f"directory admin list: {fifty} queries for 1 and for 50 rows")


def test_directory_list_is_constant_too(directory, pra_client):
    url = reverse("assignments:principals") + "?kind=user"
    one, _ = _count(pra_client, url)
    for _ in range(50):
        directory.user()
    fifty, response = _count(pra_client, url)
    assert one == fifty
    assert response.context["page"].paginator.count > 50
