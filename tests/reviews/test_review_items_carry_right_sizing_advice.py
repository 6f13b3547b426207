"""Access reviews are fed right-sizing: an item whose eligibility went unused for 30 days, or whose
standing active assignment could be eligible, shows that advice beside its recommendation, on the page
and in the API's items; a used one shows none."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from reviews import selectors


def test_items_show_the_right_sizing_advice(client, directory, make_review, start):
    reviewer = directory.user("rev")
    t0 = timezone.now()
    with time_machine.travel(t0 - timedelta(days=40), tick=False):
        used = directory.grant(directory.user("used"), "security-administrator", kind="eligible")
        unused = directory.grant(directory.user("unused"), "security-administrator", kind="eligible")
        standing = directory.grant(directory.user("standing"), "security-administrator", kind="active")
    Assignment.objects.create(principal=used.principal, role=used.role, scope=used.scope, kind="active",
                              start_at=t0 - timedelta(days=2), end_at=t0 - timedelta(days=2) + timedelta(hours=1),
                              activated_from=used, created_at=t0 - timedelta(days=2))
    instance = start(make_review(reviewers=[reviewer]))
    items = selectors.attach_recommendations(selectors.reviewer_items(user=reviewer, instance=instance, at=t0), at=t0)
    advice = {i.assignment_id: i.advice for i in items}
    assert advice[used.pk] == []
    assert [line.split(":")[0] for line in advice[unused.pk]] == ["Eligibility never used"]
    assert [line.split(":")[0] for line in advice[standing.pk]] == ["Standing access could be eligible"]
    client.force_login(reviewer)
    page = client.get(f"/reviews/mine/{instance.pk}/").content.decode()
    assert "Right-sizing — Eligibility never used" in page
    listed = client.get(f"/api/v1/my-reviews/{instance.pk}/items/").json()["results"]
    by_assignment = {i["assignment"]: i["advice"] for i in listed}
    assert by_assignment[used.pk] == []
    assert [line.split(":")[0] for line in by_assignment[unused.pk]] == ["Eligibility never used"]
    assert [line.split(":")[0] for line in by_assignment[standing.pk]] == ["Standing access could be eligible"]
