"""A review instance goes not started → in progress → completed → applying → applied from the beat
jobs; every step is audited; reviewers get the start email and the reminder, the creator and the
listed people the completion email; a denied assignment is removed with reason review_denied."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent
from notifications.email import email_message
from notifications.models import OutboxMessage
from reviews import services, tasks
from reviews.models import AccessReviewInstance, AccessReviewItem


def _emails_to(address: str) -> list[str]:
    """Subjects of the access review emails queued for `address` (other notifications left out)."""
    subjects = [email_message(m).subject for m in OutboxMessage.objects.filter(channel="email").order_by("pk")
                if m.payload["to"] == address]
    return [s for s in subjects if "access review" in s.lower()]


def test_a_weekly_review_from_start_to_applied(directory, make_review, global_admin):
    reviewer = directory.user("rev", email="rev@example.com")
    boss = directory.user("boss", email="boss@example.com")
    keep = directory.grant(directory.user("keep"), "security-administrator", kind="eligible")
    drop = directory.grant(directory.user("drop"), "security-administrator", kind="eligible")
    silent = directory.grant(directory.user("silent"), "security-administrator", kind="eligible")
    review = make_review(reviewers=[reviewer], notify=[boss], recurrence="weekly", duration_days=7,
                         auto_apply=True, default_decision="remove")
    first = review.instances.get(sequence=1)
    assert first.status == AccessReviewInstance.Status.NOT_STARTED

    assert tasks.reviews_start() == 1  # the beat's job
    first.refresh_from_db()
    assert first.status == AccessReviewInstance.Status.IN_PROGRESS and first.item_count == 3
    assert _emails_to("rev@example.com") == ["PIM: Access review started: Quarterly recertification"]
    second = review.instances.get(sequence=2)
    assert second.status == AccessReviewInstance.Status.NOT_STARTED
    assert second.start_at == first.start_at + timedelta(days=7) and first.end_at <= second.start_at

    items = {i.assignment_id: i for i in first.items.all()}
    services.review_item_decide(actor=reviewer, instance=first, item_ids=[items[keep.pk].pk], decision="approve")
    services.review_item_decide(actor=reviewer, instance=first, item_ids=[items[drop.pk].pk], decision="approve")
    # changed their mind, before the end
    services.review_item_decide(actor=reviewer, instance=first, item_ids=[items[drop.pk].pk], decision="deny",
                                reason="Left the security team")

    with time_machine.travel(first.start_at + timedelta(days=4), tick=False):
        assert tasks.reviews_remind() == 1
        assert tasks.reviews_remind() == 0  # once
    assert _emails_to("rev@example.com")[-1].startswith("PIM: Reminder: access review Quarterly recertification")

    with time_machine.travel(first.end_at + timedelta(minutes=1), tick=False):
        tasks.reviews_complete()
        first.refresh_from_db()
        assert first.status == AccessReviewInstance.Status.COMPLETED
        assert tasks.reviews_apply() == 2  # drop (denied) and silent (undecided → remove)
        assert tasks.reviews_apply() == 0  # a second run changes nothing
        assert tasks.reviews_start() == 1  # the next occurrence starts once the first is over

    first.refresh_from_db()
    assert first.status == AccessReviewInstance.Status.APPLIED
    states = dict(first.items.values_list("assignment_id", "apply_state"))
    assert states == {keep.pk: "unchanged", drop.pk: "removed", silent.pk: "removed"}
    silent_item = first.items.get(assignment=silent)
    assert (silent_item.decision, silent_item.decision_source) == ("deny", AccessReviewItem.Source.DEFAULT)
    for assignment, status in ((keep, "live"), (drop, "ended"), (silent, "ended")):
        assignment.refresh_from_db()
        assert assignment.status == status
    drop.refresh_from_db()
    assert drop.end_reason == Assignment.EndReason.REVIEW_DENIED
    removal = AuditEvent.objects.get(action="assignment.remove", target_id=str(drop.pk))
    assert "Left the security team" in removal.justification

    actions = list(AuditEvent.objects.filter(action__startswith="review.").order_by("seq")
                   .values_list("action", flat=True))
    for expected in ("review.create", "review.start", "review.decide", "review.remind", "review.complete",
                     "review.apply_start", "review.apply"):
        assert expected in actions
    assert actions.count("review.apply") == 1
    assert _emails_to("boss@example.com") == ["PIM: Access review completed: Quarterly recertification"]
    assert _emails_to(global_admin.email) == ["PIM: Access review completed: Quarterly recertification"]
    assert review.instances.get(sequence=2).status == AccessReviewInstance.Status.IN_PROGRESS


def test_without_auto_apply_an_administrator_applies_and_nothing_happens_before(directory, make_review,
                                                                              global_admin):
    reviewer = directory.user("rev")
    drop = directory.grant(directory.user("drop"), "security-administrator", kind="eligible")
    review = make_review(reviewers=[reviewer])
    instance = review.instances.get(sequence=1)
    services.review_instance_start(instance=instance)
    item = instance.items.get()
    services.review_item_decide(actor=reviewer, instance=instance, item_ids=[item.pk], decision="deny", reason="x")
    later = timezone.now() + timedelta(minutes=10)
    with time_machine.travel(later, tick=False):
        assert services.review_instance_complete(instance=instance, actor=global_admin)  # stopped early
        assert tasks.reviews_apply() == 0  # not auto-apply
        drop.refresh_from_db()
        assert drop.status == "live"
        outcome = services.review_instance_apply(instance=instance, actor=global_admin)
    assert outcome.removed == 1 and outcome.finished
    drop.refresh_from_db()
    assert drop.status == "ended" and drop.end_reason == "review_denied"
    event = AuditEvent.objects.get(action="assignment.remove", target_id=str(drop.pk))
    assert event.actor_id == global_admin.pk
