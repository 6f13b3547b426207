"""A duration longer than the recurrence interval would make an instance overlap the next: refused by
the service with a clear message, shown as a form error (400), never a 500."""

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import DomainError
from reviews.models import AccessReview


def test_service_refuses_and_says_the_limit(directory, make_review):
    reviewer = directory.user("rev")
    with pytest.raises(DomainError) as refused:
        make_review(reviewers=[reviewer], recurrence="weekly", duration_days=8)
    assert refused.value.field == "duration_days"
    assert "8-day review cannot repeat weekly" in refused.value.message and "at most 7 days" in refused.value.message
    with pytest.raises(DomainError):
        make_review(reviewers=[reviewer], recurrence="monthly", duration_days=29)
    assert make_review(reviewers=[reviewer], recurrence="monthly", duration_days=28).duration_days == 28
    assert not AccessReview.objects.filter(duration_days__in=[8, 29]).exists()


def test_the_form_shows_the_refusal(client, directory, global_admin):
    directory.user("rev")
    client.force_login(global_admin)
    response = client.post("/reviews/new/", {
        "name": "Weekly", "roles": [directory.role("security-administrator").pk], "scope": "/",
        "assignment_kinds": "both", "include_users": "on", "reviewer_type": "named", "reviewers": "rev",
        "start_date": timezone.now().date().isoformat(), "duration_days": "10", "recurrence": "weekly",
        "end_type": "never", "default_decision": "no_change"})
    assert response.status_code == 400
    assert "cannot repeat weekly" in response.content.decode()
    assert not AccessReview.objects.exists()


def test_other_bad_definitions_are_refused_too(directory, make_review):
    reviewer = directory.user("rev")
    with pytest.raises(DomainError, match="start date cannot be in the past"):
        make_review(reviewers=[reviewer], start_date=timezone.now().date() - timedelta(days=1))
    with pytest.raises(DomainError, match="Name at least one reviewer"):
        make_review()
    with pytest.raises(DomainError, match="Group owners can only review group"):
        make_review(reviewer_type="group_owners")
    with pytest.raises(DomainError, match="directory role"):
        make_review(reviewers=[reviewer], scope=directory.scope("/subscriptions/s1"))
