"""Starting an instance snapshots its items with one INSERT … SELECT: the same number of queries for
10 items as for thousands (and for 100,000 on PostgreSQL)."""

import time

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.models import Assignment, Principal
from reviews import services


def _bulk_eligible(directory, count: int, prefix: str) -> None:
    """Arrangement only: many groups eligible for Contributor at a subscription, written in bulk."""
    scope = directory.scope("/subscriptions/bulk")
    role = directory.role("contributor")
    now = timezone.now()
    principals = Principal.objects.bulk_create(
        [Principal(kind=Principal.Kind.GROUP, display_name=f"{prefix}{i}") for i in range(count)], batch_size=5000)
    Assignment.objects.bulk_create(
        [Assignment(principal=p, role=role, scope=scope, kind="eligible", start_at=now, created_at=now)
         for p in principals], batch_size=5000)


def _start_queries(directory, make_review, count: int, owner, reviewer) -> tuple[int, int, float]:
    _bulk_eligible(directory, count, prefix=f"g{count}-")
    review = make_review(role="contributor", scope=directory.scope("/subscriptions/bulk"), actor=owner,
                         reviewers=[reviewer], name=f"bulk {count}")
    Assignment.objects.filter(scope__path="/subscriptions/bulk", role__slug="contributor").exclude(
        principal__display_name__startswith=f"g{count}-").update(status="ended")  # only this batch is live
    instance = review.instances.get(sequence=1)
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        assert services.review_instance_start(instance=instance)
    elapsed = time.perf_counter() - started
    assert instance.items.count() == count
    return len(queries), count, elapsed


def _owner_and_reviewer(directory):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/bulk")
    return owner, directory.user("reviewer")


def test_ten_and_three_thousand_items_take_the_same_number_of_queries(directory, make_review):
    owner, reviewer = _owner_and_reviewer(directory)
    small, _, _ = _start_queries(directory, make_review, 10, owner, reviewer)
    large, _, _ = _start_queries(directory, make_review, 3000, owner, reviewer)
    assert small == large, (small, large)
    assert small <= 25


def test_one_hundred_thousand_items_on_postgresql(postgres, directory, make_review):
    owner, reviewer = _owner_and_reviewer(directory)
    small, _, _ = _start_queries(directory, make_review, 10, owner, reviewer)
    large, count, elapsed = _start_queries(directory, make_review, 100_000, owner, reviewer)
    print(f"\n{connection.vendor}: {count} items in {elapsed:.2f}s with {large} queries (10 items: {small})")
    assert large == small
