from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.access import access_find_grant, access_find_permission_grant
from assignments.models import Assignment, Principal


def _bulk_assignments(directory, count):
    """`count` assignments spread over many principals and scopes (arrangement, not behaviour)."""
    now = timezone.now()
    principals = Principal.objects.bulk_create(
        [Principal(kind="service_principal", display_name=f"bulk-{i}") for i in range(max(count // 10, 1))]
    )
    scopes = [directory.scope(f"/subscriptions/bulk{i}/resourceGroups/rg") for i in range(5)]
    roles = [directory.role(slug) for slug in ("reader", "contributor", "owner")]
    rows = [
        Assignment(
            principal=principals[i % len(principals)],
            role=roles[i % 3],
            scope=scopes[(i // 30) % 5],
            kind="active" if i % 2 else "eligible",
            start_at=now - timedelta(days=1),
            end_at=now + timedelta(days=i % 50 + 1),
            created_at=now,
        )
        for i in range(count)
    ]
    seen, unique = set(), []
    for row in rows:  # respect the one-live-per-(principal, role, scope, kind) constraint
        key = (row.principal_id, row.role_id, row.scope_id, row.kind)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    Assignment.objects.bulk_create(unique, batch_size=2000)
    return len(unique)


@pytest.mark.parametrize("count", [10, 10_000])
def test_decision_is_one_query(directory, count):
    _bulk_assignments(directory, count)
    user = directory.user()
    group = directory.group()
    directory.add_member(group, user)
    directory.grant(group, "contributor", "/subscriptions/bulk1")
    principal = Principal.objects.get(pk=user.principal.pk)

    with CaptureQueriesContext(connection) as queries:
        grant = access_find_grant(
            principal=principal, role="contributor", scope="/subscriptions/bulk1/resourceGroups/rg"
        )
    assert grant is not None and grant.via_group_id == group.pk
    assert len(queries.captured_queries) == 1

    with CaptureQueriesContext(connection) as queries:
        assert (
            access_find_permission_grant(
                principal=principal,
                action="Microsoft.Compute/virtualMachines/start/action",
                scope="/subscriptions/bulk1/resourceGroups/rg",
            )
            is not None
        )
    assert len(queries.captured_queries) == 1
