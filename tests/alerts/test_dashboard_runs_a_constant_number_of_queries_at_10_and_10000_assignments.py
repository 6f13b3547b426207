"""The administrators' dashboard runs the same number of queries with 10 and with 10,000
assignments, and its figures count them right."""

import re
import uuid
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.models import Assignment, Principal
from core.actors import Actor

ALERTS_JOB = Actor.system("alerts-evaluate")

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _bulk(directory, count, *, activations=0):
    """`count` assignments of Reader (and some eligible Contributor, some activations) on one
    subscription, held by as many service principals / groups: bulk-created, not through services."""
    sub = directory.scope("/subscriptions/bulk")
    reader, contributor = directory.role("reader"), directory.role("contributor")
    now = timezone.now()
    groups = Principal.objects.bulk_create([
        Principal(kind=Principal.Kind.GROUP, display_name=f"bulk {i}", object_id=uuid.uuid4()) for i in range(count)
    ])
    rows = []
    for index, group in enumerate(groups):
        eligible = index % 3 == 0
        rows.append(Assignment(principal=group, role=contributor if eligible else reader, scope=sub,
                               kind="eligible" if eligible else "active", start_at=now - timedelta(days=40),
                               end_at=None if index % 2 else now + timedelta(days=90), created_at=now))
    Assignment.objects.bulk_create(rows, batch_size=2000)
    eligibles = list(Assignment.objects.filter(scope=sub, kind="eligible")[:activations])
    Assignment.objects.bulk_create([
        Assignment(principal_id=e.principal_id, role_id=e.role_id, scope=sub, kind="active", activated_from=e,
                   start_at=now - timedelta(days=i % 30, hours=1), end_at=now - timedelta(days=i % 30) + timedelta(
                       minutes=30), created_at=now, status="ended" if i % 30 else "live")
        for i, e in enumerate(eligibles)
    ])
    return sub


def _queries(client):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get("/alerts/dashboard/")
    assert response.status_code == 200
    return len(ctx.captured_queries), response.content.decode()


def _stat(page, name):
    return int(re.search(rf'data-stat="{name}">(\d+)<', page).group(1))


def test_same_query_count_at_10_and_10000(directory, client):
    from assignments.services import scope_create

    admin = directory.user("subadmin")
    sub = _bulk(directory, 10, activations=3)
    directory.grant(admin, "owner", sub)
    client.force_login(admin)
    small, page = _queries(client)
    assert _stat(page, "eligible") == 4 and _stat(page, "active") == 6 + 1 + 1  # readers, the owner, one activation

    sub2 = scope_create(path="/subscriptions/bulk/resourceGroups/big", kind="resource_group", display_name="big",
                        parent=sub, actor=SETUP)
    reader, now = directory.role("reader"), timezone.now()
    groups = Principal.objects.bulk_create([
        Principal(kind=Principal.Kind.GROUP, display_name=f"big {i}", object_id=uuid.uuid4()) for i in range(9990)])
    Assignment.objects.bulk_create([
        Assignment(principal=g, role=reader, scope=sub2, kind="active", start_at=now - timedelta(days=1),
                   created_at=now) for g in groups], batch_size=2000)
    large, page = _queries(client)
    assert _stat(page, "active") == 8 + 9990
    assert large == small, f"{small} queries at 10 assignments, {large} at 10,000"
    print(f"dashboard queries: {small} at 10 assignments, {large} at 10,000")


def test_directory_admin_sees_directory_roles_and_incidents_by_severity(directory, role_admin, global_admin, client):
    from alerts.services import alerts_evaluate_all

    alerts_evaluate_all(actor=ALERTS_JOB)
    client.force_login(role_admin)
    count, page = _queries(client)
    assert _stat(page, "incidents-low") >= 1  # too many Global Administrators
    assert 'role="img"' in page and "Activations per day" in page
    assert count < 40
