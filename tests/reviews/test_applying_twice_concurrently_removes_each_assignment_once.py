"""Two apply jobs racing on PostgreSQL: every denied assignment is removed exactly once (one removal,
one audit event, one admin-remove request), the instance ends applied, one "review.apply" event."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from approvals.models import Request
from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from reviews import services
from reviews.models import AccessReviewInstance

APPLY_JOB = Actor.system("reviews-apply")

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_threads_apply_the_same_instance(postgres, directory, make_review, global_admin):
    reviewer = directory.user("rev")
    with time_machine.travel(timezone.now() - timedelta(days=1), tick=False):
        denied = [directory.grant(directory.user(f"d{i}"), "security-administrator", kind="eligible")
                  for i in range(12)]
        kept = directory.grant(directory.user("kept"), "security-administrator", kind="eligible")
    instance = make_review(reviewers=[reviewer]).instances.get()
    services.review_instance_start(instance=instance)
    by_assignment = {i.assignment_id: i.pk for i in instance.items.all()}
    services.review_item_decide(actor=reviewer, instance=instance, item_ids=[by_assignment[a.pk] for a in denied],
                                decision="deny", reason="no longer needed")
    services.review_item_decide(actor=reviewer, instance=instance, item_ids=[by_assignment[kept.pk]],
                                decision="approve")
    services.review_instance_complete(instance=instance, actor=global_admin)

    barrier = threading.Barrier(2)
    outcomes, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            inst = AccessReviewInstance.objects.select_related("review", "review__role", "review__scope").get(
                pk=instance.pk)
            outcomes.append(services.review_instance_apply(instance=inst, actor=APPLY_JOB))
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert sum(o.removed for o in outcomes) == len(denied)
    ids = [a.pk for a in denied]
    assert Assignment.objects.filter(pk__in=ids, status="ended", end_reason="review_denied").count() == len(denied)
    for assignment_id in ids:
        assert AuditEvent.objects.filter(action="assignment.remove", target_id=str(assignment_id)).count() == 1
        assert Request.objects.filter(action="admin_remove", assignment_id=assignment_id).count() == 1
    kept.refresh_from_db()
    assert kept.status == "live"
    instance.refresh_from_db()
    assert instance.status == "applied"
    assert AuditEvent.objects.filter(action="review.apply").count() == 1
    assert set(instance.items.values_list("apply_state", flat=True)) == {"removed", "unchanged"}
