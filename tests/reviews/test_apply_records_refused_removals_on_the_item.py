"""Applying goes through `assignment_remove`, so its rules hold: a removal within 5 minutes of the
assignment's creation or of the last Global Administrator is refused, recorded on the item and
audited, and the other items are still applied. An assignment that ended meanwhile is noted."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent
from core.actors import Actor
from reviews import services

APPLY_JOB = Actor.system("reviews-apply")


def test_refusals_are_recorded_and_do_not_stop_the_others(directory, make_review):
    reviewer = directory.user("rev")
    t0 = timezone.now()
    with time_machine.travel(t0 - timedelta(days=1), tick=False):
        lone_admin = directory.user("lone")
        only_ga = directory.grant(lone_admin, "global-administrator")
    # The review runs with a system actor (no Global Administrator fixture): end every other GA.
    Assignment.objects.filter(role__slug="global-administrator").exclude(pk=only_ga.pk).update(status="ended")
    with time_machine.travel(t0 - timedelta(days=1), tick=False):
        old = directory.grant(directory.user("old"), "global-administrator", kind="eligible")
        gone = directory.grant(directory.user("gone"), "global-administrator", kind="eligible")
    review = make_review(role="global-administrator", actor=lone_admin, reviewers=[reviewer])
    instance = review.instances.get()
    services.review_instance_start(instance=instance)
    fresh = directory.grant(directory.user("fresh"), "global-administrator", kind="eligible")
    assert not instance.items.filter(assignment=fresh).exists()  # snapshot: made after the start
    items = {i.assignment_id: i for i in instance.items.all()}
    services.review_item_decide(actor=reviewer, instance=instance, item_ids=list(i.pk for i in items.values()),
                                decision="deny", reason="recertification")
    Assignment.objects.filter(pk=gone.pk).update(status="ended", end_reason="removed")
    assert services.review_instance_complete(instance=instance, actor=lone_admin)

    outcome = services.review_instance_apply(instance=instance, actor=APPLY_JOB)
    assert (outcome.removed, outcome.refused, outcome.already_ended, outcome.finished) == (1, 1, 1, True)
    states = {a: (i.apply_state, i.apply_message) for a, i in
              ((i.assignment_id, i) for i in instance.items.all())}
    assert states[old.pk][0] == "removed"
    assert states[gone.pk][0] == "already_ended"
    assert states[only_ga.pk][0] == "refused" and "last active Global Administrator" in states[only_ga.pk][1]
    only_ga.refresh_from_db()
    assert only_ga.status == "live"
    failure = AuditEvent.objects.get(action="review.apply_item")
    assert failure.outcome == "failure" and "last active Global Administrator" in failure.message
    instance.refresh_from_db()
    assert instance.status == "applied"


def test_the_five_minute_rule_applies(directory, make_review, global_admin):
    reviewer = directory.user("rev")
    target = directory.grant(directory.user("target"), "security-administrator", kind="eligible")
    instance = make_review(reviewers=[reviewer]).instances.get()
    services.review_instance_start(instance=instance)
    item = instance.items.get()
    services.review_item_decide(actor=reviewer, instance=instance, item_ids=[item.pk], decision="deny", reason="x")
    services.review_instance_complete(instance=instance, actor=global_admin)
    services.review_instance_apply(instance=instance, actor=global_admin)
    item.refresh_from_db()
    target.refresh_from_db()
    assert item.apply_state == "refused" and "within 5 minutes" in item.apply_message
    assert target.status == "live"
