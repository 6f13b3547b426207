"""Property: over random scope trees, groups, memberships and assignments, the one-query access check
agrees with a naive reference that walks parents and memberships in Python."""

import os
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assignments import services
from assignments.access import access_find_grant
from assignments.models import Assignment, Principal, Scope
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

BASE = timezone.now().replace(microsecond=0) + timedelta(days=1)
ROLES = ["reader", "contributor"]
HOURS = st.integers(min_value=-3, max_value=3)

world = st.fixed_dictionaries(
    {
        # parent index of scope i (0 is the root "/"), always an earlier scope: a random tree
        "parents": st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=8),
        "memberships": st.lists(
            st.tuples(
                st.integers(0, 2),
                st.integers(0, 1),
                st.sampled_from(["active", "eligible"]),
                HOURS,
                st.one_of(st.none(), HOURS),
            ),
            max_size=5,
        ),
        "assignments": st.lists(
            st.tuples(
                st.integers(0, 4),
                st.sampled_from(ROLES),
                st.integers(0, 8),
                st.sampled_from(["active", "eligible"]),
                HOURS,
                st.one_of(st.none(), HOURS),
            ),
            max_size=12,
        ),
        "at": st.lists(st.integers(min_value=-4, max_value=4), min_size=1, max_size=3),
    }
)


def _window(start_h, end_h):
    start = BASE + timedelta(hours=start_h)
    end = None if end_h is None else start + timedelta(hours=abs(end_h) + 1)
    return start, end


def _held(start, end, at):
    return start <= at and (end is None or end > at)


@settings(max_examples=int(os.environ.get("PIM_PROPERTY_EXAMPLES", "60")), deadline=None, database=None,
          derandomize=os.environ.get("PIM_PROPERTY_RANDOM") != "1",  # CI is reproducible; explore with =1
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=world)
def test_access_check_agrees_with_reference(directory, data):
    with transaction.atomic():
        scopes = [directory.root]
        parent_of = {directory.root.pk: None}
        for i, parent_index in enumerate(data["parents"]):
            parent = scopes[parent_index % len(scopes)]
            scope = services.scope_create(
                path=f"/providers/Microsoft.Management/managementGroups/h{i}",
                kind=Scope.Kind.MANAGEMENT_GROUP,
                display_name=f"h{i}",
                parent=parent,
                actor=SETUP,
            )
            scopes.append(scope)
            parent_of[scope.pk] = parent.pk
        users = [directory.user() for _ in range(3)]
        groups = [directory.group() for _ in range(2)]
        principals = [u.principal for u in users] + groups
        roles = {slug: directory.role(slug) for slug in ROLES + ["group-member"]}

        rows, seen = [], set()

        def add(principal, role, scope, kind, start, end):
            key = (principal.pk, role.pk, scope.pk, kind)
            if key in seen:
                return
            seen.add(key)
            rows.append(
                Assignment(
                    principal=principal, role=role, scope=scope, kind=kind, start_at=start, end_at=end, created_at=BASE
                )
            )

        for user_i, group_i, kind, start_h, end_h in data["memberships"]:
            add(
                users[user_i].principal,
                roles["group-member"],
                groups[group_i].group_scope,
                kind,
                *_window(start_h, end_h),
            )
        for principal_i, role, scope_i, kind, start_h, end_h in data["assignments"]:
            add(principals[principal_i], roles[role], scopes[scope_i % len(scopes)], kind, *_window(start_h, end_h))
        Assignment.objects.bulk_create(rows)

        def ancestors(scope_pk):
            while scope_pk is not None:
                yield scope_pk
                scope_pk = parent_of[scope_pk]

        def reference(user, role, scope, at):
            holders = {user.principal.pk} | {
                r.scope.group_id
                for r in rows
                if r.principal_id == user.principal.pk
                and r.role_id == roles["group-member"].pk
                and r.kind == "active"
                and _held(r.start_at, r.end_at, at)
            }
            chain = set(ancestors(scope.pk))
            return any(
                r.kind == "active"
                and r.role_id == roles[role].pk
                and r.principal_id in holders
                and r.scope_id in chain
                and _held(r.start_at, r.end_at, at)
                for r in rows
            )

        for offset in data["at"]:
            at = BASE + timedelta(hours=offset, minutes=30)
            for user in users:
                for role in ROLES:
                    for scope in scopes:
                        expected = reference(user, role, scope, at)
                        actual = access_find_grant(principal=user.principal, role=role, scope=scope, at=at) is not None
                        assert actual == expected, (user, role, scope.path, at)
        assert Principal.objects.filter(pk__in=[g.pk for g in groups]).count() == 2
        transaction.set_rollback(True)
