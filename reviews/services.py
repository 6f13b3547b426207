"""State changes of access reviews, as keyword-only `review_*` functions.

Each runs in one transaction: lock or guarded update → rules → writes → audit event → emails queued
in the same transaction. Instances move not_started → in_progress → completed → applying → applied,
each step a conditional update on the current status, so a job that runs twice (or two workers that
race) does the work once. Applying removes denied assignments through `assignment_remove`, one item
at a time, each guarded by a conditional update of the item's `apply_state`.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import BooleanField, Case, CharField, Count, Exists, F, IntegerField, OuterRef, Q, Value, When
from django.utils import timezone

from assignments import rules
from assignments.models import Assignment, Principal, RoleDefinition, Scope, ScopeClosure, User
from assignments.services import assignment_remove, audited_refusal
from audit.models import AuditEvent
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.errors import DomainError, conflict, forbidden, invalid
from core.timezones import local_text, time_zone_get
from notifications.email import absolute_url, email_enqueue, email_enqueue_many

from . import recurrence, selectors
from .models import AccessReview, AccessReviewInstance, AccessReviewItem

Instance = AccessReviewInstance
Item = AccessReviewItem
MAX_ITEMS_PER_DECISION = 1000


# The scheduled jobs act as the system, each under its own name (audit: system:<job>).
_COMPLETE_JOB = Actor.system("reviews-complete")
_START_JOB = Actor.system("reviews-start")
_REMIND_JOB = Actor.system("reviews-remind")
_APPLY_JOB = Actor.system("reviews-apply")


def _locked_instances():
    """Instances with their review, role and scope, locking the instance row only."""
    return Instance.objects.select_for_update(of=("self",)).select_related("review", "review__role", "review__scope")


def _review_subject(kwargs: dict) -> dict:
    """What a refused review action was about, for `audited_refusal`."""
    instance = kwargs.get("instance")
    review = getattr(instance, "review", None)
    scope = getattr(review, "scope", None) or getattr(kwargs.get("spec"), "scope", None)
    return {"target": instance, "role": getattr(review, "role", None), "scope": scope}


def _fmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


# --- Definitions ---------------------------------------------------------------------------------------


def _check_scope_fits(role: RoleDefinition, scope: Scope) -> None:
    if role.kind == RoleDefinition.Kind.DIRECTORY and not scope.is_root:
        raise invalid(f"{role.name} is a directory role: review it at the directory root '/'.", field="scope")
    if role.kind == RoleDefinition.Kind.RESOURCE and scope.kind == Scope.Kind.GROUP:
        raise invalid(f"{role.name} is a resource role: pick a resource scope, not a group.", field="scope")
    if role.kind == RoleDefinition.Kind.GROUP and not (scope.is_root or scope.kind == Scope.Kind.GROUP):
        raise invalid(f"{role.name} is a group role: pick a group (or '/' for every group).", field="scope")


def _principals(ids: list[int] | None, *, kinds: list[str], field: str, what: str) -> list[Principal]:
    ids = list(dict.fromkeys(ids or []))
    found = list(Principal.objects.filter(pk__in=ids, kind__in=kinds, enabled=True))
    if len(found) != len(ids):
        raise invalid(f"{what} must be existing, enabled {' or '.join(k.replace('_', ' ') + 's' for k in kinds)}.",
                      field=field)
    return found


@dataclass
class ReviewSettings:
    """The options of a definition other than its role, as the form and the API give them."""

    name: str
    scope: Scope
    start_date: date
    duration_days: int
    time_zone: str = "UTC"  # the zone start_date is read in (the page's: the person's)
    description: str = ""
    assignment_kinds: str = AccessReview.AssignmentKinds.BOTH
    include_users: bool = True
    include_groups: bool = True
    include_service_principals: bool = True
    inactive_days: int | None = None
    reviewer_type: str = AccessReview.ReviewerType.NAMED
    reviewer_ids: list[int] | None = None
    fallback_reviewer_ids: list[int] | None = None
    recurrence: str = AccessReview.Recurrence.ONE_TIME
    end_type: str = AccessReview.EndType.NEVER
    end_date: date | None = None
    occurrences: int | None = None
    show_recommendations: bool = True
    require_reason_on_approve: bool = False
    auto_apply: bool = False
    default_decision: str = AccessReview.DefaultDecision.NO_CHANGE
    send_reminders: bool = True
    notify_ids: list[int] | None = None


def _validate_settings(s: ReviewSettings, roles: list[RoleDefinition], today: date) -> None:
    if not s.name.strip():
        raise invalid("Give the review a name.", field="name")
    if not roles:
        raise invalid("Pick at least one role to review.", field="roles")
    if s.assignment_kinds not in AccessReview.AssignmentKinds.values:
        raise invalid("Choose eligible, active or both.", field="assignment_kinds")
    if not (s.include_users or s.include_groups or s.include_service_principals):
        raise invalid("Review at least one kind of principal: users, groups or service principals.",
                      field="include_users")
    if s.inactive_days is not None and s.inactive_days < 1:
        raise invalid("Inactive for at least one day, or leave it empty.", field="inactive_days")
    if s.reviewer_type not in AccessReview.ReviewerType.values:
        raise invalid("Choose who reviews.", field="reviewer_type")
    if s.reviewer_type == AccessReview.ReviewerType.NAMED and not s.reviewer_ids:
        raise invalid("Name at least one reviewer (a user or a group).", field="reviewers")
    if s.reviewer_type == AccessReview.ReviewerType.GROUP_OWNERS:
        for role in roles:
            if role.kind != RoleDefinition.Kind.GROUP:
                raise invalid(f"Group owners can only review group memberships and ownerships, not {role.name}.",
                              field="reviewer_type")
    if s.start_date < today:
        raise invalid("The start date cannot be in the past.", field="start_date")
    if s.recurrence not in AccessReview.Recurrence.values:
        raise invalid("Choose how often the review repeats.", field="recurrence")
    if s.duration_days is None or s.duration_days < 1:
        raise invalid("A review lasts at least one day.", field="duration_days")
    if not recurrence.duration_fits(recurrence=s.recurrence, duration_days=s.duration_days):
        limit = recurrence.MIN_INTERVAL_DAYS[s.recurrence]
        label = AccessReview.Recurrence(s.recurrence).label.lower()
        raise invalid(f"A {s.duration_days}-day review cannot repeat {label}: an instance would overlap the next. "
                      f"Choose at most {limit} days.", field="duration_days")
    if s.end_type not in AccessReview.EndType.values:
        raise invalid("Choose when the series ends.", field="end_type")
    if s.recurrence == AccessReview.Recurrence.ONE_TIME and s.end_type != AccessReview.EndType.NEVER:
        raise invalid("A one-time review has no end rule.", field="end_type")
    if s.end_type == AccessReview.EndType.ON_DATE and (s.end_date is None or s.end_date < s.start_date):
        raise invalid("The series' end date must be on or after the start date.", field="end_date")
    if s.end_type == AccessReview.EndType.AFTER_COUNT and (s.occurrences is None or s.occurrences < 1):
        raise invalid("Give the number of occurrences (1 or more).", field="occurrences")
    if s.default_decision not in AccessReview.DefaultDecision.values:
        raise invalid("Choose what happens to items nobody decided.", field="default_decision")


@audited_refusal("review.create", describe=_review_subject)
def review_create(*, actor: Actor | User, roles: list[RoleDefinition], spec: ReviewSettings,
                  mfa_verified_at: datetime | None = None) -> list[AccessReview]:
    """Create one definition per role (and its first, not yet started, instance). Needs the right to
    manage each role at the scope. A duration longer than the recurrence interval is refused."""
    actor = as_actor(actor).with_mfa_verified_at(mfa_verified_at)
    scope = spec.scope
    now = timezone.now()
    roles = list(dict.fromkeys(roles))
    zone = time_zone_get(spec.time_zone)
    if zone is None:
        raise invalid(f"Unknown time zone {spec.time_zone!r}.", field="start_date")
    _validate_settings(spec, roles, now.astimezone(zone).date())
    for role in roles:
        _check_scope_fits(role, scope)
        rules.check_actor_can_manage(actor=actor, role=role, scope=scope)
        if spec.auto_apply:  # its results will remove assignments with nobody there to confirm
            rules.check_privileged_assignment_mfa(actor=actor, role=role, scope=scope,
                                                  verb="set up an automatically applied review of")
    user_or_group = [Principal.Kind.USER, Principal.Kind.GROUP]
    s = spec
    reviewers = _principals(s.reviewer_ids if s.reviewer_type == AccessReview.ReviewerType.NAMED else [],
                            kinds=user_or_group, field="reviewers", what="Reviewers")
    fallbacks = _principals(s.fallback_reviewer_ids, kinds=user_or_group, field="fallback_reviewers",
                            what="Fallback reviewers")
    notified = _principals(s.notify_ids, kinds=[Principal.Kind.USER], field="notify", what="People to notify")
    created = []
    with transaction.atomic():
        for role in roles:
            name = s.name.strip() if len(roles) == 1 else f"{s.name.strip()} — {role.name}"
            review = AccessReview.objects.create(
                name=name[:200], description=s.description, role=role, scope=scope,
                assignment_kinds=s.assignment_kinds, include_users=s.include_users, include_groups=s.include_groups,
                include_service_principals=s.include_service_principals, inactive_days=s.inactive_days,
                reviewer_type=s.reviewer_type, start_date=s.start_date, duration_days=s.duration_days,
                time_zone=s.time_zone,
                recurrence=s.recurrence, end_type=s.end_type,
                end_date=s.end_date if s.end_type == AccessReview.EndType.ON_DATE else None,
                occurrences=s.occurrences if s.end_type == AccessReview.EndType.AFTER_COUNT else None,
                show_recommendations=s.show_recommendations, require_reason_on_approve=s.require_reason_on_approve,
                auto_apply=s.auto_apply, default_decision=s.default_decision, send_reminders=s.send_reminders,
                created_by=actor.user, created_at=now,
            )
            review.reviewers.set(reviewers)
            review.fallback_reviewers.set(fallbacks)
            review.notify_on_completion.set(notified)
            _instance_create(review=review, index=0)
            audit_event_record(action="review.create", actor=actor, target=review, role=role, scope=scope,
                               after=_review_snapshot(review, reviewers, fallbacks, notified))
            created.append(review)
    return created


def _review_snapshot(review: AccessReview, reviewers, fallbacks, notified) -> dict:
    return {
        "name": review.name, "role": review.role.slug, "scope": review.scope.path,
        "assignment_kinds": review.assignment_kinds,
        "principal_kinds": [k for k, on in (("user", review.include_users), ("group", review.include_groups),
                                            ("service_principal", review.include_service_principals)) if on],
        "inactive_days": review.inactive_days, "reviewer_type": review.reviewer_type,
        "reviewers": sorted(p.pk for p in reviewers), "fallback_reviewers": sorted(p.pk for p in fallbacks),
        "notify": sorted(p.pk for p in notified), "start_date": review.start_date.isoformat(),
        "duration_days": review.duration_days, "recurrence": review.recurrence, "end_type": review.end_type,
        "end_date": review.end_date.isoformat() if review.end_date else None, "occurrences": review.occurrences,
        "show_recommendations": review.show_recommendations,
        "require_reason_on_approve": review.require_reason_on_approve, "auto_apply": review.auto_apply,
        "default_decision": review.default_decision, "send_reminders": review.send_reminders,
    }


def _instance_create(*, review: AccessReview, index: int) -> Instance | None:
    """The not-yet-started instance for occurrence `index`, if the series has one (idempotent)."""
    if not recurrence.occurrence_exists(anchor=review.start_date, recurrence=review.recurrence, index=index,
                                        end_type=review.end_type, end_date=review.end_date,
                                        occurrences=review.occurrences):
        return None
    day = recurrence.occurrence_date(anchor=review.start_date, recurrence=review.recurrence, index=index)
    start_at, end_at = recurrence.instance_window(start=day, duration_days=review.duration_days,
                                                  zone=time_zone_get(review.time_zone) or UTC)
    instance, _ = Instance.objects.get_or_create(review=review, sequence=index + 1,
                                                 defaults={"start_at": start_at, "end_at": end_at})
    return instance


# --- Start: the snapshot ----------------------------------------------------------------------------------


def _snapshot_queryset(*, instance: Instance, now: datetime):
    """The assignments under review at `now`, as rows of the item table's columns (in order)."""
    review = instance.review
    kinds = {"both": [Assignment.Kind.ELIGIBLE, Assignment.Kind.ACTIVE]}.get(review.assignment_kinds,
                                                                             [review.assignment_kinds])
    principal_kinds = [k for k, on in ((Principal.Kind.USER, review.include_users),
                                       (Principal.Kind.GROUP, review.include_groups),
                                       (Principal.Kind.SERVICE_PRINCIPAL, review.include_service_principals)) if on]
    qs = Assignment.objects.filter(
        role_id=review.role_id, activated_from__isnull=True, kind__in=kinds,
        principal__kind__in=principal_kinds, created_at__lte=now,
        scope_id__in=ScopeClosure.objects.filter(ancestor_id=review.scope_id).values("descendant_id"),
    ).not_over_at(now)
    if review.inactive_days:
        since = now - timedelta(days=review.inactive_days)
        recent = Assignment.objects.filter(kind=Assignment.Kind.ACTIVE, activated_from__isnull=False,
                                           start_at__gte=since, start_at__lte=now).filter(
            Q(activated_from_id=OuterRef("pk"))
            | Q(principal_id=OuterRef("principal_id"), role_id=OuterRef("role_id"),
                scope_id__in=ScopeClosure.objects.filter(ancestor_id=OuterRef(OuterRef("scope_id")))
                .values("descendant_id")))
        qs = qs.filter(~Exists(recent))
    types = AccessReview.ReviewerType
    if review.reviewer_type == types.SELF:
        needs_fallback = Case(When(principal__kind=Principal.Kind.USER, then=Value(False)), default=Value(True),
                              output_field=BooleanField())
    elif review.reviewer_type == types.GROUP_OWNERS:
        other_owner = Assignment.objects.filter(
            selectors._held(at=now), kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_OWNER,
            scope_id=OuterRef("scope_id"), principal__enabled=True).exclude(principal_id=OuterRef("principal_id"))
        needs_fallback = Case(When(Exists(other_owner), then=Value(False)), default=Value(True),
                              output_field=BooleanField())
    else:
        named = list(review.reviewers.values_list("pk", "kind"))
        if len(named) == 1 and named[0][1] == Principal.Kind.USER:
            # The only named reviewer cannot decide their own item: the fallback reviewers do.
            needs_fallback = Case(When(principal_id=named[0][0], then=Value(True)), default=Value(False),
                                  output_field=BooleanField())
        else:
            needs_fallback = Value(False, output_field=BooleanField())
    columns = {
        "instance_id": Value(instance.pk, output_field=IntegerField()),
        "assignment_id": F("pk"),
        "principal_id": F("principal_id"),
        "role_id": F("role_id"),
        "scope_id": F("scope_id"),
        "kind": F("kind"),
        "assignment_start_at": F("start_at"),
        "assignment_end_at": F("end_at"),
        "needs_fallback": needs_fallback,
        "decision": Value("", output_field=CharField()),
        "decision_source": Value("", output_field=CharField()),
        "reason": Value("", output_field=CharField()),
        "recommendation": Value("", output_field=CharField()),
        "apply_state": Value(Item.ApplyState.PENDING, output_field=CharField()),
        "apply_message": Value("", output_field=CharField()),
    }
    aliases = {f"c_{name}": expr for name, expr in columns.items()}
    return qs.order_by().annotate(**aliases).values_list(*aliases), list(columns)


def review_instance_snapshot(*, instance: Instance, now: datetime) -> int:
    """Insert the items of `instance` in one INSERT … SELECT: a constant number of queries whatever the
    number of assignments (100,000 items are one statement). Returns how many were inserted."""
    qs, columns = _snapshot_queryset(instance=instance, now=now)
    select_sql, params = qs.query.get_compiler(connection=connection).as_sql()
    qn = connection.ops.quote_name
    sql = f"INSERT INTO {qn(Item._meta.db_table)} ({', '.join(qn(c) for c in columns)}) {select_sql}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def review_instance_start(*, instance: Instance, now: datetime | None = None) -> bool:
    """not_started → in_progress when its start has come and the previous instance is over: snapshot
    the assignments, tell the reviewers, prepare the next occurrence. False when not due (or done)."""
    now = now or timezone.now()
    with transaction.atomic():
        inst = _locked_instances().filter(
            pk=instance.pk).first()
        if inst is None or inst.status != Instance.Status.NOT_STARTED or inst.start_at > now:
            return False
        if Instance.objects.filter(review_id=inst.review_id, sequence__lt=inst.sequence,
                                   status__in=[Instance.Status.NOT_STARTED, Instance.Status.IN_PROGRESS]).exists():
            return False  # never overlap: the previous one must complete first
        if not Instance.objects.filter(pk=inst.pk, status=Instance.Status.NOT_STARTED).update(
                status=Instance.Status.IN_PROGRESS, started_at=now):
            return False
        count = review_instance_snapshot(instance=inst, now=now)
        Instance.objects.filter(pk=inst.pk).update(item_count=count)
        inst.status, inst.started_at, inst.item_count = Instance.Status.IN_PROGRESS, now, count
        review = inst.review
        audit_event_record(action="review.start", actor=_START_JOB, target=inst, role=review.role, scope=review.scope,
                           after={"review": review.pk, "sequence": inst.sequence, "items": count,
                                  "start_at": inst.start_at, "end_at": inst.end_at})
        if count:
            _email_reviewers(inst=inst, template="email/review_started", context=_email_context(inst), key="started",
                             pending_only=False, now=now)
        _instance_create(review=review, index=inst.sequence)
    return True


def _email_context(inst: Instance) -> dict:
    """Plain JSON (rendered at delivery): names, not objects."""
    review = inst.review
    return {"review_name": review.name, "description": review.description, "role_name": review.role.name,
            "scope_path": review.scope.path, "sequence": inst.sequence, "end_at": _fmt(inst.end_at),
            "default_decision": AccessReview.DefaultDecision(review.default_decision).label.lower(),
            "auto_apply": review.auto_apply, "mine_url": absolute_url(f"/reviews/mine/{inst.pk}/"),
            "results_url": absolute_url(f"/reviews/instances/{inst.pk}/")}


def _email_reviewers(*, inst: Instance, template: str, context: dict, key: str, pending_only: bool,
                     now: datetime) -> int:
    """One outbox row per reviewer, inserted in bulk (a self-review can have thousands of reviewers)."""
    recipients = selectors.reviewer_emails(instance=inst, pending_only=pending_only, at=now)
    return email_enqueue_many([(recipients, template, context, f"review:{inst.pk}:{key}", None)])


# --- Decisions -------------------------------------------------------------------------------------------


@audited_refusal("review.decide", describe=_review_subject)
def review_item_decide(*, actor: User, instance: Instance, item_ids: list[int], decision: str,
                       reason: str = "") -> int:
    """Record `actor`'s decision on items of `instance` (one or many). Only while the instance is in
    progress and before its end; only items the actor may review now. A later decision replaces an
    earlier one."""
    if decision not in (Item.Decision.APPROVE, Item.Decision.DENY, Item.Decision.DONT_KNOW):
        raise invalid("Choose approve, deny or don't know.", field="decision")
    ids = list(dict.fromkeys(int(pk) for pk in item_ids))
    if not ids:
        raise invalid("Select at least one item to decide.", field="items")
    if len(ids) > MAX_ITEMS_PER_DECISION:
        raise invalid(f"Decide at most {MAX_ITEMS_PER_DECISION} items at once.", field="items")
    reason = (reason or "").strip()
    now = timezone.now()
    with transaction.atomic():
        inst = _locked_instances().get(
            pk=instance.pk)
        if inst.status != Instance.Status.IN_PROGRESS or now >= inst.end_at:
            if inst.status == Instance.Status.NOT_STARTED:
                raise conflict("This review has not started yet.")
            raise conflict(f"This review ended on {local_text(min(inst.end_at, inst.completed_at or inst.end_at))}: "
                           f"decisions can no longer be taken or changed.")
        if decision == Item.Decision.DENY and not reason:
            raise invalid("Say why access should be removed.", field="reason")
        if decision == Item.Decision.APPROVE and inst.review.require_reason_on_approve and not reason:
            raise invalid("This review requires a reason to approve access.", field="reason")
        allowed = selectors.reviewer_can_decide(user=actor, item_ids=ids, instance=inst, at=now)
        refused = [pk for pk in ids if pk not in allowed]
        if refused:
            listed = ", ".join(f"#{pk}" for pk in refused[:10]) + (" …" if len(refused) > 10 else "")
            raise forbidden(f"You are not a reviewer of item {listed}: you can only decide the items assigned to "
                            f"you in this review.")
        before = {str(pk): d for pk, d in Item.objects.filter(pk__in=ids).values_list("pk", "decision")}
        Item.objects.filter(instance=inst, pk__in=ids).update(
            decision=decision, decision_source=Item.Source.REVIEWER, reason=reason, decided_by=actor, decided_at=now)
        audit_event_record(action="review.decide", actor=actor, target=inst, role=inst.review.role,
                           scope=inst.review.scope, justification=reason, before={"decisions": before},
                           after={"decision": decision, "items": ids})
    return len(ids)


# --- Completion ------------------------------------------------------------------------------------------


@audited_refusal("review.complete", describe=_review_subject)
def review_instance_complete(*, instance: Instance, actor: Actor | User, now: datetime | None = None) -> bool:
    """in_progress → completed: at its end (the job, `Actor.system`), or earlier when an administrator
    stops it. Freezes the recommendations, applies the default to undecided items, tells the creator
    and the people to notify. False when not due or already done."""
    now = now or timezone.now()
    actor = as_actor(actor)
    if not actor.is_system:
        rules.check_actor_can_manage(actor=actor, role=instance.review.role, scope=instance.review.scope)
    with transaction.atomic():
        inst = _locked_instances().get(
            pk=instance.pk)
        if inst.status != Instance.Status.IN_PROGRESS:
            if not actor.is_system and inst.status == Instance.Status.NOT_STARTED:
                raise conflict("This review has not started yet.")
            return False
        if actor.is_system and inst.end_at > now:
            return False
        if not Instance.objects.filter(pk=inst.pk, status=Instance.Status.IN_PROGRESS).update(
                status=Instance.Status.COMPLETED, completed_at=now):
            return False
        inst.status, inst.completed_at = Instance.Status.COMPLETED, now
        review = inst.review
        items = Item.objects.filter(instance=inst)
        items.update(last_activation_at=selectors.last_activation_subquery(at=now))
        cutoff = now - selectors.RECOMMENDATION_WINDOW
        items.update(recommendation=Case(When(last_activation_at__gte=cutoff, then=Value(Item.Recommendation.APPROVE)),
                                         default=Value(Item.Recommendation.DENY), output_field=CharField()))
        defaults = {
            AccessReview.DefaultDecision.REMOVE: Value(Item.Decision.DENY),
            AccessReview.DefaultDecision.APPROVE: Value(Item.Decision.APPROVE),
            AccessReview.DefaultDecision.RECOMMENDATION: F("recommendation"),
        }
        defaulted = 0
        if review.default_decision in defaults:
            defaulted = items.filter(decision="").update(
                decision=defaults[review.default_decision], decision_source=Item.Source.DEFAULT, decided_at=now,
                reason=f"Not reviewed: {AccessReview.DefaultDecision(review.default_decision).label.lower()}.")
        counts = _decision_counts(inst)
        audit_event_record(action="review.complete", actor=actor, target=inst, role=review.role, scope=review.scope,
                           message="Stopped early by an administrator." if inst.end_at > now else "",
                           after={**counts, "defaulted": defaulted, "default_decision": review.default_decision})
        email_enqueue(recipients=selectors.completion_emails(review=review), template="email/review_completed",
                      context={**_email_context(inst), "counts": counts}, dedupe_key=f"review:{inst.pk}:completed")
    return True


def _decision_counts(inst: Instance) -> dict:
    rows = dict(Item.objects.filter(instance=inst).values("decision").annotate(n=Count("pk")).values_list(
        "decision", "n"))
    return {"approve": rows.get("approve", 0), "deny": rows.get("deny", 0), "dont_know": rows.get("dont_know", 0),
            "not_reviewed": rows.get("", 0)}


# --- Reminders -------------------------------------------------------------------------------------------


def review_instance_remind(*, instance: Instance, now: datetime | None = None) -> int:
    """Once, half-way through: remind the reviewers who still have undecided items. Returns the number
    of recipients (0 when not due, already sent, reminders off or nothing is left)."""
    now = now or timezone.now()
    with transaction.atomic():
        inst = _locked_instances().get(
            pk=instance.pk)
        halfway = inst.start_at + (inst.end_at - inst.start_at) / 2
        if (inst.status != Instance.Status.IN_PROGRESS or not inst.review.send_reminders or inst.reminded_at
                or now < halfway or now >= inst.end_at):
            return 0
        if not Instance.objects.filter(pk=inst.pk, reminded_at__isnull=True).update(reminded_at=now):
            return 0
        pending = Item.objects.filter(instance=inst, decision="").count()
        sent = _email_reviewers(inst=inst, template="email/review_reminder", key="reminder", pending_only=True,
                                context={**_email_context(inst), "pending": pending}, now=now) if pending else 0
        audit_event_record(action="review.remind", actor=_REMIND_JOB, target=inst, role=inst.review.role,
                           scope=inst.review.scope, after={"recipients": sent})
    return sent


# --- Apply -----------------------------------------------------------------------------------------------


@dataclass
class ApplyOutcome:
    removed: int = 0
    refused: int = 0
    already_ended: int = 0
    finished: bool = False


@audited_refusal("review.apply", describe=_review_subject)
def review_instance_apply(*, instance: Instance, actor: Actor | User, limit: int | None = None,
                          now: datetime | None = None) -> ApplyOutcome:
    """completed → applying → applied: remove every denied assignment through `assignment_remove`
    (reason review_denied), so its rules, audit events and notifications apply. Safe to run twice or
    concurrently: each item is claimed by a conditional update of its `apply_state`, in the same
    transaction as its removal. A refused removal (5-minute rule, last Global Administrator, …) is
    recorded on the item. `limit` bounds the items handled per call; the job calls again."""
    review = instance.review
    actor = as_actor(actor)
    if not actor.is_system:
        rules.check_actor_can_manage(actor=actor, role=review.role, scope=review.scope)
    now = now or timezone.now()
    outcome = ApplyOutcome()
    with transaction.atomic():
        moved = Instance.objects.filter(pk=instance.pk, status=Instance.Status.COMPLETED).update(
            status=Instance.Status.APPLYING)
        status = Instance.objects.filter(pk=instance.pk).values_list("status", flat=True).get()
        if not moved:
            if status == Instance.Status.APPLIED:
                outcome.finished = True
                return outcome
            if status != Instance.Status.APPLYING:
                raise conflict("Results can be applied once the review has completed.")
        else:
            Item.objects.filter(instance_id=instance.pk, apply_state=Item.ApplyState.PENDING).exclude(
                decision=Item.Decision.DENY).update(apply_state=Item.ApplyState.UNCHANGED, applied_at=now)
            audit_event_record(action="review.apply_start", actor=actor, target=instance, role=review.role,
                               scope=review.scope)
    pending = Item.objects.filter(instance_id=instance.pk, apply_state=Item.ApplyState.PENDING,
                                  decision=Item.Decision.DENY).select_related("decided_by").order_by("pk")
    if limit is not None:
        pending = pending[:limit]
    for item in list(pending):
        result = _apply_item(item=item, review=review, instance=instance, actor=actor, now=now)
        if result == Item.ApplyState.REMOVED:
            outcome.removed += 1
        elif result == Item.ApplyState.REFUSED:
            outcome.refused += 1
        elif result == Item.ApplyState.ALREADY_ENDED:
            outcome.already_ended += 1
    with transaction.atomic():
        if Item.objects.filter(instance_id=instance.pk, apply_state=Item.ApplyState.PENDING).exists():
            return outcome
        if Instance.objects.filter(pk=instance.pk, status=Instance.Status.APPLYING).update(
                status=Instance.Status.APPLIED, applied_at=timezone.now()):
            states = dict(Item.objects.filter(instance_id=instance.pk).values("apply_state")
                          .annotate(n=Count("pk")).values_list("apply_state", "n"))
            audit_event_record(action="review.apply", actor=actor, target=instance, role=review.role,
                               scope=review.scope, after=states)
        outcome.finished = True
    return outcome


def _apply_item(*, item: Item, review: AccessReview, instance: Instance, actor, now: datetime) -> str | None:
    """Claim one denied item and remove its assignment, in one transaction; None if another run has it."""
    who = item.decided_by or "the default for undecided items"
    justification = (f"Access review '{review.name}' #{instance.sequence}: denied by {who}"
                     + (f" — {item.reason}" if item.reason else ""))[:2000]
    try:
        with transaction.atomic():
            if not Item.objects.filter(pk=item.pk, apply_state=Item.ApplyState.PENDING).update(
                    apply_state=Item.ApplyState.REMOVED, applied_at=now):
                return None
            assignment = (Assignment.objects.select_related("principal", "role", "scope")
                          .filter(pk=item.assignment_id).first())
            if assignment is None or assignment.status != Assignment.Status.LIVE:
                Item.objects.filter(pk=item.pk).update(apply_state=Item.ApplyState.ALREADY_ENDED,
                                                       apply_message="The assignment had already ended.")
                return Item.ApplyState.ALREADY_ENDED
            assignment_remove(actor=actor, assignment=assignment, justification=justification,
                              reason=Assignment.EndReason.REVIEW_DENIED)
            return Item.ApplyState.REMOVED
    except DomainError as error:
        with transaction.atomic():
            if not Item.objects.filter(pk=item.pk, apply_state=Item.ApplyState.PENDING).update(
                    apply_state=Item.ApplyState.REFUSED, apply_message=error.message, applied_at=now):
                return None
            audit_event_record(action="review.apply_item", actor=actor, outcome=AuditEvent.Outcome.FAILURE,
                               target=instance, principal=item.principal, role=review.role, scope=item.scope,
                               message=f"Item #{item.pk}: {error.message}")
        return Item.ApplyState.REFUSED


# --- The jobs -------------------------------------------------------------------------------------------



def reviews_complete_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    done = 0
    for inst in Instance.objects.filter(status=Instance.Status.IN_PROGRESS, end_at__lte=now).select_related(
            "review", "review__role", "review__scope").order_by("end_at"):
        done += review_instance_complete(instance=inst, actor=_COMPLETE_JOB, now=now)
    return done


def reviews_start_due(*, now: datetime | None = None) -> int:
    """Complete what is over first (an instance never overlaps the next), then start what is due."""
    now = now or timezone.now()
    reviews_complete_due(now=now)
    started = 0
    for inst in Instance.objects.filter(status=Instance.Status.NOT_STARTED, start_at__lte=now).order_by("start_at"):
        started += review_instance_start(instance=inst, now=now)
    return started


def reviews_remind_due(*, now: datetime | None = None) -> int:
    now = now or timezone.now()
    sent = 0
    for inst in Instance.objects.filter(status=Instance.Status.IN_PROGRESS, reminded_at__isnull=True,
                                        review__send_reminders=True, end_at__gt=now):
        sent += review_instance_remind(instance=inst, now=now)
    return sent


def reviews_apply_due(*, limit: int = 2000) -> int:
    """Apply completed instances of auto-apply reviews, and continue any instance left applying."""
    removed = 0
    due = Instance.objects.filter(Q(status=Instance.Status.COMPLETED, review__auto_apply=True)
                                  | Q(status=Instance.Status.APPLYING)).select_related(
        "review", "review__role", "review__scope").order_by("completed_at")
    for inst in due:
        removed += review_instance_apply(instance=inst, actor=_APPLY_JOB, limit=limit).removed
    return removed
