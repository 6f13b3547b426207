"""Recommendations: approve when the principal activated the role (at the scope or below) in the last
30 days, deny otherwise, with the evidence shown; they follow time, and are frozen at completion
(and taken for undecided items when the review says so)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from reviews import selectors, services


def _activate(eligible, at):
    return Assignment.objects.create(principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                                     kind="active", start_at=at, end_at=at + timedelta(hours=1),
                                     activated_from=eligible, created_at=at)


def test_recommendation_moves_with_time_and_is_frozen_at_completion(client, directory, make_review, global_admin):
    reviewer = directory.user("rev")
    t0 = timezone.now()
    with time_machine.travel(t0 - timedelta(days=40), tick=False):
        used = directory.grant(directory.user("used"), "security-administrator", kind="eligible")
        unused = directory.grant(directory.user("unused"), "security-administrator", kind="eligible")
    _activate(used, t0 - timedelta(days=3))
    review = make_review(reviewers=[reviewer], duration_days=60, default_decision="recommendation")
    instance = review.instances.get()
    services.review_instance_start(instance=instance)

    def recommended(at):
        items = selectors.attach_recommendations(selectors.reviewer_items(user=reviewer, instance=instance, at=at),
                                                 at=at)
        return {i.assignment_id: (i.recommended, i.evidence_at) for i in items}

    now = recommended(t0)
    assert now[used.pk][0] == "approve" and now[used.pk][1] is not None
    assert now[unused.pk] == ("deny", None)

    client.force_login(reviewer)
    page = client.get(f"/reviews/mine/{instance.pk}/").content.decode()
    assert "Last activated" in page and "No activation on record" in page

    with time_machine.travel(t0 + timedelta(days=28), tick=False):  # activation now 31 days old
        assert recommended(timezone.now())[used.pk][0] == "deny"
        _activate(unused, timezone.now() - timedelta(days=1))
        assert recommended(timezone.now())[unused.pk][0] == "approve"
        assert services.review_instance_complete(instance=instance, actor=global_admin)

    frozen = {i.assignment_id: i for i in instance.items.all()}
    assert frozen[used.pk].recommendation == "deny" and frozen[used.pk].decision == "deny"
    assert frozen[unused.pk].recommendation == "approve" and frozen[unused.pk].decision == "approve"
    assert frozen[unused.pk].last_activation_at is not None
    assert {i.decision_source for i in frozen.values()} == {"default"}


def test_an_activation_at_a_narrower_scope_counts(directory, make_review, start):
    reviewer, owner = directory.user("rev"), directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    t0 = timezone.now()
    eligible = directory.grant(directory.user("dev"), "contributor", "/subscriptions/s1", kind="eligible")
    narrow = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    Assignment.objects.create(principal=eligible.principal, role=eligible.role, scope=narrow, kind="active",
                              start_at=t0 - timedelta(days=2), end_at=t0 - timedelta(days=2) + timedelta(hours=1),
                              created_at=t0 - timedelta(days=2), activated_from=eligible)
    instance = start(make_review(role="contributor", scope=directory.scope("/subscriptions/s1"), actor=owner,
                                 reviewers=[reviewer], assignment_kinds="eligible"))
    [item] = selectors.attach_recommendations(selectors.reviewer_items(user=reviewer, instance=instance))
    assert item.recommended == "approve"
