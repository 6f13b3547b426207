"""The dashboard's "reviews in progress" tile counts in-progress review instances the user may see,
through the reviews app's visibility selector."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

reviews_models = pytest.importorskip("reviews.models")


def test_in_progress_instances_of_visible_reviews_are_counted(directory, role_admin, client):
    now = timezone.now()

    def review(role_slug, scope, status):
        definition = reviews_models.AccessReview.objects.create(
            name=f"{role_slug} review", role=directory.role(role_slug), scope=scope, duration_days=7, created_at=now,
            start_date=now.date())
        reviews_models.AccessReviewInstance.objects.create(review=definition, sequence=1, start_at=now,
                                                           end_at=now + timedelta(days=7), status=status)

    review("global-administrator", directory.root, "in_progress")
    review("helpdesk-administrator", directory.root, "in_progress")
    review("user-administrator", directory.root, "completed")
    review("owner", directory.scope("/subscriptions/s1"), "in_progress")  # a resource role: not a directory admin's
    client.force_login(role_admin)
    page = client.get("/alerts/dashboard/").content.decode()
    assert int(re.search(r'data-stat="reviews">(\d+)<', page).group(1)) == 2
