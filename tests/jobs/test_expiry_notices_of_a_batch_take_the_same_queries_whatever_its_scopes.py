"""The expiry sweep's notices are set-based: the policies and administrators of every (role, scope) of a
batch are read at once, so a batch spread over 12 scopes runs as many queries as one over 3, and each
row's recipients are exactly those the per-row resolution gives (owners above the scope, a group's
members, a policy's extra addresses)."""

from datetime import timedelta

import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments import services, sweeps
from assignments.models import Assignment, default_notification_matrix
from core.actors import Actor
from notifications.recipients import Resolver, matrix_row_for

SETUP = Actor.system("test-setup")


def _arrange(directory, start, scopes):
    ending = []
    for i, path in enumerate(scopes):
        holder = directory.user()
        ending.append(directory.grant(holder, "contributor" if i % 2 else "reader", path, kind="eligible",
                                      end=start + timedelta(hours=1)))
    return ending


def _expected(ending, at):
    resolver = Resolver(at)  # the per-row path: one policy and one admin query per (role, scope)
    out = {}
    for a in Assignment.objects.filter(pk__in=[e.pk for e in ending]).select_related("role", "scope"):
        out[a.pk] = sorted(resolver.recipients(row=matrix_row_for(a), columns=("admins", "assignee"), role=a.role,
                                               scope=a.scope, principal_id=a.principal_id))
    return out


def _queued(outbox, ending):
    got: dict = {}
    for message in outbox.rows("email/expired"):
        got.setdefault(message.payload["context"]["assignment_id"], []).append(message.payload["to"])
    return {pk: sorted(got.get(pk, [])) for pk in (e.pk for e in ending)}


def test_a_batch_over_many_scopes_runs_the_queries_of_a_batch_over_few(directory, outbox):
    start = timezone.now()
    for s in range(4):
        directory.grant(directory.user(f"owner{s}"), "owner", f"/subscriptions/s{s}")
    team = directory.group("Platform team")
    directory.grant(team, "owner", "/subscriptions/s1/resourceGroups/rg1")
    for name in ("ann", "ben"):
        directory.grant(directory.user(name), "group-member", team.group_scope)
    matrix = default_notification_matrix()
    matrix["eligible_assigned"]["admins"]["extra_addresses"] = ["audit@example.com"]
    services.role_setting_update(actor=SETUP, role=directory.role("reader"), scope=directory.scope("/subscriptions/s2"),
                                 values={"notifications": matrix})
    few = _arrange(directory, start, ["/subscriptions/s0"] * 3)
    many = _arrange(directory, start + timedelta(hours=2),
                    [f"/subscriptions/s{s}/resourceGroups/rg{r}" for s in range(4) for r in range(3)])

    with time_machine.travel(start + timedelta(hours=1, minutes=30), tick=False):
        expected_few = _expected(few, timezone.now())
        with CaptureQueriesContext(connection) as small:
            assert sweeps.assignments_expire(batch_size=100).processed == 3
    with time_machine.travel(start + timedelta(hours=3, minutes=30), tick=False):
        expected_many = _expected(many, timezone.now())
        with CaptureQueriesContext(connection) as large:
            assert sweeps.assignments_expire(batch_size=100).processed == 12

    assert _queued(outbox, few) == expected_few
    assert _queued(outbox, many) == expected_many
    rg1 = next(a for a in many if a.scope.path == "/subscriptions/s1/resourceGroups/rg1")
    assert {"ann@example.com", "ben@example.com", "owner1@example.com"} <= set(expected_many[rg1.pk])
    s2_readers = [a for a in many if a.scope.path.startswith("/subscriptions/s2/") and a.role.slug == "reader"]
    assert s2_readers and all("audit@example.com" in expected_many[a.pk] for a in s2_readers)
    assert len(large.captured_queries) == len(small.captured_queries), "\n".join(
        q["sql"][:160] for q in large.captured_queries)
