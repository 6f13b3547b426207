"""An instance reviews the assignments that exist when it starts: later ones are not in it; the
definition's filters (kinds of assignment and principal, scope and below, inactivity) apply."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from reviews.models import AccessReviewItem


def test_assignments_made_after_the_start_are_not_in_the_instance(directory, make_review, start):
    reviewer = directory.user("rev")
    before = [directory.grant(directory.user(f"b{i}"), "security-administrator", kind="eligible") for i in range(3)]
    review = make_review(reviewers=[reviewer])
    instance = start(review)
    directory.grant(directory.user("late"), "security-administrator", kind="eligible")

    items = AccessReviewItem.objects.filter(instance=instance)
    assert sorted(items.values_list("assignment_id", flat=True)) == sorted(a.pk for a in before)
    assert instance.item_count == 3
    item = items.get(assignment=before[0])
    assert (item.principal_id, item.role_id, item.scope_id, item.kind) == (
        before[0].principal_id, before[0].role_id, before[0].scope_id, "eligible")
    assert item.decision == "" and item.apply_state == "pending" and item.needs_fallback is False


def test_kinds_of_assignment_and_of_principal_are_filtered(directory, make_review, start, later):
    reviewer = directory.user("rev")
    user = directory.user("u")
    eligible = directory.grant(user, "contributor", "/subscriptions/s1", kind="eligible")
    active = directory.grant(directory.user("v"), "contributor", "/subscriptions/s1/resourceGroups/rg1",
                             kind="active", end=later(days=30))
    app = directory.service_principal("app")
    sp_active = directory.grant(app, "contributor", "/subscriptions/s1", kind="active", end=later(days=30))
    directory.grant(directory.user("elsewhere"), "contributor", "/subscriptions/s2", kind="eligible")
    ended = directory.grant(directory.user("gone"), "contributor", "/subscriptions/s1", kind="eligible")
    Assignment.objects.filter(pk=ended.pk).update(status="ended")

    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    only_active = make_review(role="contributor", scope=directory.scope("/subscriptions/s1"), actor=owner,
                              reviewers=[reviewer], assignment_kinds="active")
    users_only = make_review(role="contributor", scope=directory.scope("/subscriptions/s1"), actor=owner,
                             reviewers=[reviewer], include_groups=False, include_service_principals=False)

    assert set(start(only_active).items.values_list("assignment_id", flat=True)) == {active.pk, sp_active.pk}
    assert set(start(users_only).items.values_list("assignment_id", flat=True)) == {eligible.pk, active.pk}


def test_activations_are_not_reviewed_and_inactive_only_keeps_those_without_recent_activations(
        directory, make_review, start):
    reviewer = directory.user("rev")
    now = timezone.now()
    busy = directory.user("busy")
    idle = directory.user("idle")
    with time_machine.travel(now - timedelta(days=60), tick=False):
        busy_eligible = directory.grant(busy, "security-administrator", kind="eligible")
        idle_eligible = directory.grant(idle, "security-administrator", kind="eligible")
    # busy activated ten days ago; idle fifty days ago
    for who, eligible, days in ((busy, busy_eligible, 10), (idle, idle_eligible, 50)):
        Assignment.objects.create(principal=who.principal, role=eligible.role, scope=eligible.scope, kind="active",
                                  start_at=now - timedelta(days=days), end_at=now - timedelta(days=days, hours=-1),
                                  activated_from=eligible, created_at=now - timedelta(days=days), status="ended")
    review = make_review(reviewers=[reviewer], inactive_days=30)
    instance = start(review)
    assert list(instance.items.values_list("assignment_id", flat=True)) == [idle_eligible.pk]
