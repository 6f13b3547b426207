from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from approvals.models import Request
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _count(client, url):
    client.get(url)  # warm caches (content types, object-id cache)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, {"page_size": 200})
    assert response.status_code == 200, response.content
    return len(queries), len(response.json()["results"])


def _make(directory, n, start):
    from assignments import services

    reader = directory.role("reader")
    sub = directory.scope("/subscriptions/s1")
    setting_roles = list(directory.roles.values())
    for i in range(start, start + n):
        user = directory.user(f"bulk{i}")
        directory.grant(user, "reader", sub, end=timezone.now() + timedelta(days=3))
        scope = directory.scope(f"/subscriptions/s1/resourceGroups/bulk{i}")
        Request.objects.create(action="self_activate", status="denied", requested_by=None, principal=user.principal,
                               role=reader, scope=scope, created_at=timezone.now())
        role = setting_roles[i % len(setting_roles)]
        if role.kind == "resource":
            services.role_setting_update(actor=SETUP, role=role, scope=scope, values={"max_activation_minutes": 60},
                                         approver_ids=[user.principal.pk])


@pytest.mark.parametrize("url", ["/api/v1/assignments/", "/api/v1/principals/", "/api/v1/scopes/",
                                 "/api/v1/role-settings/", "/api/v1/audit/events/", "/api/v1/roles/"])
def test_constant_queries(world, directory, url):
    # The service principal administers /subscriptions/s1, where the rows are made; the auditor reads the log.
    caller = {"/api/v1/assignments/": "service_principal", "/api/v1/audit/events/": "auditor"}.get(url, "auditor")
    client = world[caller].client()
    _make(directory, 1, 0)
    few_queries, few_rows = _count(client, url)
    _make(directory, 100, 1)
    many_queries, many_rows = _count(client, url)
    assert many_rows > few_rows or url == "/api/v1/roles/"
    assert few_queries == many_queries, url


def test_own_requests_constant(world, directory, requester_p):
    from .conftest import eligible_of

    client = requester_p.client()
    eligible = eligible_of(requester_p, "user-administrator")

    def add(n):
        for _ in range(n):
            Request.objects.create(action="self_activate", status="canceled", requested_by=requester_p.user,
                                   principal=requester_p.principal, role=eligible.role, scope=eligible.scope,
                                   eligible_assignment=eligible, created_at=timezone.now())

    add(1)
    few = _count(client, "/api/v1/requests/")
    add(99)
    many = _count(client, "/api/v1/requests/")
    assert many[1] == 100 and few[1] == 1
    assert few[0] == many[0]

