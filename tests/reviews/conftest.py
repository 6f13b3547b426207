"""Helpers for the access review tests: a review definition made through the service, started."""

import pytest
from django.utils import timezone

from reviews import services
from reviews.models import AccessReview, AccessReviewInstance


@pytest.fixture
def make_review(directory, global_admin):
    """Create a review definition (through `review_create`, by a Global Administrator unless `actor`, who
    has just passed the MFA step-up: an auto-applied review of a privileged role asks for it)."""

    def _make(*, role="security-administrator", scope=None, actor=None, reviewers=(), fallback=(), notify=(),
              **options) -> AccessReview:
        spec = services.ReviewSettings(
            name=options.pop("name", "Quarterly recertification"),
            scope=scope or directory.root,
            start_date=options.pop("start_date", timezone.now().date()),
            duration_days=options.pop("duration_days", 14),
            reviewer_ids=[getattr(p, "principal", p).pk for p in reviewers],
            fallback_reviewer_ids=[getattr(p, "principal", p).pk for p in fallback],
            notify_ids=[getattr(p, "principal", p).pk for p in notify],
            **options,
        )
        roles = role if isinstance(role, list | tuple) else [role]
        return services.review_create(actor=actor or global_admin, roles=[directory.role(r) for r in roles],
                                      spec=spec, mfa_verified_at=timezone.now())[0]

    return _make


@pytest.fixture
def start():
    """Start the first (or the given) instance now and return it."""

    def _start(review: AccessReview, sequence: int = 1) -> AccessReviewInstance:
        instance = review.instances.get(sequence=sequence)
        assert services.review_instance_start(instance=instance)
        instance.refresh_from_db()
        return instance

    return _start
