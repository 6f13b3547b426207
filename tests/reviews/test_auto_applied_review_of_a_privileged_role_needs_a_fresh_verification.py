"""A review whose results apply automatically removes assignments with nobody there to confirm: defining
one for a privileged role needs a fresh MFA verification. A review applied by hand does not."""

import pytest
from django.utils import timezone

from core.errors import DomainError
from reviews import services
from reviews.models import AccessReview


def _spec(directory, reviewer, **options):
    return services.ReviewSettings(name="Recertification", scope=directory.root, start_date=timezone.now().date(),
                                   duration_days=14, reviewer_ids=[reviewer.principal.pk], **options)


def test_auto_apply_needs_the_step_up_and_manual_apply_does_not(directory, global_admin):
    reviewer = directory.user("reviewer")
    role = directory.role("security-administrator")

    with pytest.raises(DomainError) as refused:
        services.review_create(actor=global_admin, roles=[role], spec=_spec(directory, reviewer, auto_apply=True))
    assert refused.value.field == "admin_mfa"
    assert not AccessReview.objects.exists()

    services.review_create(actor=global_admin, roles=[role], spec=_spec(directory, reviewer))
    services.review_create(actor=global_admin, roles=[role], spec=_spec(directory, reviewer, auto_apply=True),
                           mfa_verified_at=timezone.now())
    assert AccessReview.objects.count() == 2
