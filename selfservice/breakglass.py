"""Break-glass: emergency self-approval of an activation that needs approval, where a role's request rules
allow it, with a high-severity incident to the role's administrators and a post-hoc review that opens at
once and escalates once when overdue. Each change runs in one transaction with its audit event; the
incidents' emails go through the outbox in it."""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from alerts.services import alert_break_glass_activation, alert_break_glass_review_overdue
from approvals import hooks
from approvals import selectors as approval_selectors
from approvals.services import request_self_activate
from assignments import rules as assignment_rules
from assignments import selectors as assignment_selectors
from assignments.models import Assignment, Request, User
from assignments.services import assignment_remove
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.errors import FieldErrors, conflict, forbidden, invalid, not_found
from notifications.email import absolute_url
from notifications.recipients import stage_approvers_emails

from . import selectors
from .models import BreakGlassReview, RequestWaiver

_ESCALATION = Actor.system("break-glass-review-escalation")


def _break_glass_source(reason: str, policy: dict):
    def source(draft: hooks.ActivationDraft) -> hooks.Waiver:
        request_rules = selectors.request_rules_for(setting=draft.setting)
        if request_rules is None or not request_rules.allow_break_glass:
            raise forbidden(f"The policy of {draft.role.name} does not allow break-glass self-approval.")
        policy["hours"] = request_rules.break_glass_review_hours
        message = "Break-glass: self-approved in an emergency; its post-hoc review is open."

        def record(request) -> None:
            now = draft.now
            RequestWaiver.objects.create(request=request, kind=RequestWaiver.Kind.BREAK_GLASS, reason=reason,
                                         created_at=now)
            review = BreakGlassReview.objects.create(request=request, opened_at=now,
                                                     due_at=now + timedelta(hours=policy["hours"]))
            audit_event_record(action="request.break_glass", actor=draft.actor, target=request,
                               principal=request.principal, role=request.role, scope=request.scope,
                               justification=reason, message=message, correlation_id=request.pk,
                               after={"review_id": review.pk, "review_due_at": review.due_at})
            alert_break_glass_activation(
                request_id=str(request.pk), principal=request.principal, role=request.role, scope=request.scope,
                reason=reason, at=now, review_due_at=review.due_at,
                review_url=absolute_url(reverse("selfservice:review", args=[review.pk])), actor=draft.actor)

        return hooks.Waiver(message=message, record=record)

    return source


def request_break_glass(*, actor: Actor | User, eligible_assignment: Assignment | int, reason: str,
                        duration_minutes: int, scope=None, ticket_system: str = "", ticket_number: str = "",
                        mfa_verified_at: datetime | None = None, client_ip: str | None = None) -> Request:
    """Emergency self-approval of an activation that needs approval, where the role's request rules allow
    it: a mandatory reason (it is the request's justification), every other activation rule (MFA,
    justification and ticket rules, conditions, duration), and at once a high-severity incident emailed
    to the role's administrators and a post-hoc review due in the policy's hours. One transaction."""
    reason = (reason or "").strip()
    if not reason:
        raise invalid("Say what the emergency is: break-glass needs a reason.", field="reason")
    eligible = Assignment.objects.select_related("role", "scope").filter(
        pk=getattr(eligible_assignment, "pk", eligible_assignment), kind=Assignment.Kind.ELIGIBLE).first()
    if eligible is None:
        raise not_found("No such eligible assignment.")
    setting = assignment_selectors.role_setting_effective(role=eligible.role, scope=eligible.scope)
    if not setting.require_approval:
        raise invalid(f"{eligible.role.name} needs no approval: activate it the usual way.", field="reason")
    # The pipeline's one transaction holds the request, the waiver, the review, the incident and its emails.
    return request_self_activate(
        actor=actor, eligible_assignment=eligible_assignment, scope=scope, duration_minutes=duration_minutes,
        justification=reason, ticket_system=ticket_system, ticket_number=ticket_number,
        mfa_verified_at=mfa_verified_at, client_ip=client_ip, approval_waiver=_break_glass_source(reason, {}))


def _review(review: BreakGlassReview | int) -> BreakGlassReview:
    found = (BreakGlassReview.objects.select_related("request", "request__role", "request__scope",
                                                     "request__principal", "request__assignment")
             .filter(pk=getattr(review, "pk", review)).first())
    if found is None:
        raise not_found("No such break-glass review.")
    return found


def break_glass_review_complete(*, actor: Actor | User, review: BreakGlassReview | int, outcome: str,
                                comment: str) -> BreakGlassReview:
    """An administrator of the role (never the requester) completes the review: justified, or not (the
    activation, if still live, is removed through the assignments writer, in the same transaction)."""
    review = _review(review)
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise forbidden("Sign in first.")
    actor = as_actor(actor)
    if not actor.is_person:
        raise forbidden("A person completes a break-glass review.")
    request = review.request
    if request.requested_by_id == actor.user.pk or request.principal_id == actor.principal.pk:
        raise forbidden("You cannot review your own break-glass activation.")
    assignment_rules.check_actor_can_manage(actor=actor, role=request.role, scope=request.scope)
    comment = (comment or "").strip()
    found = FieldErrors()
    if outcome not in BreakGlassReview.Outcome.values:
        found.add("outcome", "Say whether the emergency use was justified.")
    if not comment:
        found.add("comment", "Say what you found.")
    found.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        changed = BreakGlassReview.objects.filter(pk=review.pk, status=BreakGlassReview.Status.OPEN).update(
            status=BreakGlassReview.Status.COMPLETED, completed_at=now, completed_by=actor.user, outcome=outcome,
            comment=comment)
        if changed != 1:
            raise conflict("This review has already been completed.")
        audit_event_record(action="break_glass_review.complete", actor=actor, target=review,
                           principal=request.principal, role=request.role, scope=request.scope,
                           justification=comment, correlation_id=request.pk, after={"outcome": outcome})
        activation = request.assignment
        if outcome == BreakGlassReview.Outcome.UNJUSTIFIED and activation is not None and \
                activation.status == Assignment.Status.LIVE:
            assignment_remove(actor=actor, assignment=activation,
                              justification=f"Break-glass review: not justified. {comment}")
    review.refresh_from_db()
    return review


def _fallback_approvers(request: Request, *, at: datetime) -> tuple[str, ...]:
    """The addresses of the fallback approvers of the approval stages of the request's policy (who take
    over a stage nobody decided), never the requester's: told with the administrators when a review is
    overdue."""
    setting = assignment_selectors.role_setting_effective(role=request.role, scope=request.scope)
    if setting.pk is None:
        return ()
    emails = set()
    for stage in approval_selectors.role_setting_stages(setting=setting):
        emails |= set(stage_approvers_emails(stage=stage, scope=request.scope, escalated=True, at=at))
    mine = (request.requested_by.email or "").lower() if request.requested_by_id else ""
    return tuple(sorted(email for email in emails if email.lower() != mine))


def break_glass_reviews_escalate_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Escalate the reviews still open past their due time, once each: a high-severity incident, emailed to
    the role's administrators. A guarded update claims each review, so two runs never escalate it twice."""
    now = now or timezone.now()
    due = list(BreakGlassReview.objects.filter(status=BreakGlassReview.Status.OPEN, escalated_at__isnull=True,
                                               due_at__lte=now).order_by("due_at").values_list("pk", flat=True)[:limit])
    escalated = 0
    for pk in due:
        with transaction.atomic():
            if BreakGlassReview.objects.filter(pk=pk, status=BreakGlassReview.Status.OPEN,
                                               escalated_at__isnull=True).update(escalated_at=now) != 1:
                continue
            review = _review(pk)
            request = review.request
            audit_event_record(action="break_glass_review.escalate", actor=_ESCALATION, target=review,
                               principal=request.principal, role=request.role, scope=request.scope,
                               correlation_id=request.pk,
                               message=f"Not completed by {review.due_at:%Y-%m-%d %H:%M} UTC.")
            alert_break_glass_review_overdue(
                review_id=review.pk, principal=request.principal, role=request.role, scope=request.scope,
                due_at=review.due_at, at=now, review_url=absolute_url(reverse("selfservice:review", args=[review.pk])),
                actor=_ESCALATION, also_notify=_fallback_approvers(request, at=now))
            escalated += 1
    return escalated
