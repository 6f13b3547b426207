"""Reviewer rights are evaluated at each decision: a member of a named reviewer group who is removed
from the group mid-review can no longer see or decide the items."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments import services as assignment_services
from core.errors import DomainError
from reviews import selectors, services


def test_removed_group_member_is_refused(directory, make_review, start, global_admin):
    auditors = directory.group("Auditors")
    carol = directory.user("carol")
    membership = directory.add_member(auditors, carol)
    target = directory.grant(directory.user("target"), "security-administrator", kind="eligible")
    instance = start(make_review(reviewers=[auditors]))
    item = instance.items.get(assignment=target)
    assert selectors.reviewer_emails(instance=instance) == ["carol@example.com"]  # the group's members

    services.review_item_decide(actor=carol, instance=instance, item_ids=[item.pk], decision="approve")
    with time_machine.travel(timezone.now() + timedelta(minutes=10), tick=False):
        assignment_services.assignment_remove(actor=global_admin, assignment=membership, justification="moved team")
        assert not selectors.reviewer_items(user=carol, instance=instance).exists()
        assert selectors.reviewer_emails(instance=instance) == []
        with pytest.raises(DomainError) as refused:
            services.review_item_decide(actor=carol, instance=instance, item_ids=[item.pk], decision="deny",
                                        reason="changed my mind")
    assert refused.value.code == "forbidden"
    item.refresh_from_db()
    assert item.decision == "approve" and item.decided_by == carol
