"""Reads of access reviews: who may see and decide what, progress, recommendations and recipients.

Reviewer rights are evaluated *now*, from committed state, every time: a named group reviewer who is
removed from the group, or a group owner who loses ownership, can no longer see or decide items.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from assignments import selectors as assignment_selectors
from assignments.models import Assignment, Principal, RoleDefinition, Scope, held_at_q
from governance.rightsizing import advice_for_assignments

from .models import AccessReview, AccessReviewInstance, AccessReviewItem

RECOMMENDATION_WINDOW = timedelta(days=30)
Item = AccessReviewItem
Instance = AccessReviewInstance


def _held(prefix: str = "", at: datetime | None = None) -> Q:
    return held_at_q(at or timezone.now(), prefix)


def _principal_ids(user, at: datetime) -> list[int]:
    """The user's principal and the (enabled) groups they are an active member of at `at` (one query)."""
    return [user.principal.pk, *assignment_selectors.principal_group_ids(principal=user.principal, at=at)]


# --- Who reviews what --------------------------------------------------------------------------------


def reviewer_item_q(*, user, at: datetime | None = None) -> Q:
    """Items `user` may see and decide at `at` (no self-decision except under self-review):
    - self-review: the user's own items;
    - named reviewers: every item of reviews naming the user or a group the user is a member of now;
    - group owners: items at groups the user owns now;
    - fallback reviewers: the items marked as needing them.
    One query (group membership), the rest are subqueries."""
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "principal"):
        return Q(pk__in=[])
    at = at or timezone.now()
    me = user.principal.pk
    mine = _principal_ids(user, at)
    named = AccessReview.reviewers.through.objects.filter(principal_id__in=mine).values("accessreview_id")
    fallback = AccessReview.fallback_reviewers.through.objects.filter(principal_id__in=mine).values("accessreview_id")
    owned_scopes = Assignment.objects.filter(
        _held(at=at), principal_id=me, kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_OWNER,
    ).values("scope_id")
    types = AccessReview.ReviewerType
    return (
        Q(needs_fallback=False, instance__review__reviewer_type=types.SELF, principal_id=me)
        | (Q(needs_fallback=False, instance__review__reviewer_type=types.NAMED, instance__review_id__in=named)
           & ~Q(principal_id=me))
        | (Q(needs_fallback=False, instance__review__reviewer_type=types.GROUP_OWNERS, scope_id__in=owned_scopes)
           & ~Q(principal_id=me))
        | (Q(needs_fallback=True, instance__review_id__in=fallback) & ~Q(principal_id=me))
    )


def reviewer_can_decide(*, user, item_ids: list[int], instance: AccessReviewInstance,
                        at: datetime | None = None) -> set[int]:
    """The subset of `item_ids` (of `instance`) that `user` may decide at `at`."""
    return set(Item.objects.filter(instance=instance, pk__in=item_ids).filter(reviewer_item_q(user=user, at=at))
               .values_list("pk", flat=True))


def last_activation_subquery(*, at: datetime) -> Subquery:
    """The latest start (at or before `at`) of an activation of the reviewed assignment, or of any
    activation of the same role by the same principal at the item's scope or below."""
    activations = (
        Assignment.objects.filter(kind=Assignment.Kind.ACTIVE, activated_from__isnull=False, start_at__lte=at)
        .filter(
            Q(activated_from_id=OuterRef("assignment_id"))
            | Q(principal_id=OuterRef("principal_id"), role_id=OuterRef("role_id"),
                scope_id__in=Scope.objects.filter(ancestor_links__ancestor_id=OuterRef(OuterRef("scope_id")))
                .values("pk"))
        )
        .order_by("-start_at")
        .values("start_at")[:1]
    )
    return Subquery(activations)


def recommendation_for(*, last_activation_at: datetime | None, at: datetime) -> str:
    """Approve when activated in the last 30 days, deny otherwise."""
    if last_activation_at is not None and last_activation_at >= at - RECOMMENDATION_WINDOW:
        return Item.Recommendation.APPROVE
    return Item.Recommendation.DENY


def with_live_recommendations(qs: QuerySet, *, at: datetime | None = None) -> QuerySet:
    """Annotate `live_last_activation_at` (evidence as of `at`); the view derives the recommendation."""
    at = at or timezone.now()
    return qs.annotate(live_last_activation_at=last_activation_subquery(at=at))


def attach_recommendations(items, *, at: datetime | None = None) -> list:
    """Set `.evidence_at` and `.recommended` on each item: live while the review runs, frozen after."""
    at = at or timezone.now()
    items = list(items)
    # Right-sizing's advice about the items' assignments (unused eligibility, standing access that could
    # be eligible), shown beside the recommendation while the review runs.
    advice = advice_for_assignments(assignment_ids=[i.assignment_id for i in items if i.assignment_id], now=at)
    out = []
    for item in items:
        item.advice = advice.get(item.assignment_id, [])
        if item.instance.status in (Instance.Status.NOT_STARTED, Instance.Status.IN_PROGRESS):
            item.evidence_at = getattr(item, "live_last_activation_at", None)
            item.recommended = recommendation_for(last_activation_at=item.evidence_at, at=at)
        else:
            item.evidence_at = item.last_activation_at
            item.recommended = item.recommendation
        out.append(item)
    return out


# --- Lists and pages -----------------------------------------------------------------------------------


def reviews_visible_to(*, user) -> QuerySet[AccessReview]:
    """Definitions whose role the user administers (or, for directory roles, reads) at the review's
    scope or above, in a constant number of queries: directory roles for directory readers and
    administrators, group roles for Global / Privileged Role Administrators and the group's owners,
    resource roles for Owners and User Access Administrators at or above; plus one's own."""
    qs = AccessReview.objects.select_related("role", "scope", "created_by")
    if user is None or not hasattr(user, "principal"):
        return qs.none()
    now = timezone.now()
    visible = Q(created_by=user)
    if assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_VIEWER_ROLES):
        visible |= Q(role__kind=RoleDefinition.Kind.DIRECTORY)  # readers see directory role reviews
        if assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES):
            visible |= Q(role__kind=RoleDefinition.Kind.GROUP)
    resource_scopes = assignment_selectors.user_held_scope_ids(
        user=user, role_slugs=assignment_selectors.RESOURCE_ADMIN_ROLES, at=now)
    group_scopes = assignment_selectors.user_held_scope_ids(user=user, role_slugs=[RoleDefinition.GROUP_OWNER], at=now)
    visible |= Q(role__kind=RoleDefinition.Kind.RESOURCE, scope__ancestor_links__ancestor_id__in=resource_scopes)
    visible |= Q(role__kind=RoleDefinition.Kind.GROUP, scope_id__in=group_scopes)
    return qs.filter(visible).distinct()


def instances_with_progress(qs: QuerySet | None = None) -> QuerySet[AccessReviewInstance]:
    qs = Instance.objects.all() if qs is None else qs
    return qs.select_related("review", "review__role", "review__scope").annotate(
        total_items=Count("items"),
        decided_items=Count("items", filter=~Q(items__decision="")),
        denied_items=Count("items", filter=Q(items__decision=Item.Decision.DENY)),
    )


def instance_items(*, instance: AccessReviewInstance) -> QuerySet[AccessReviewItem]:
    return (Item.objects.filter(instance=instance)
            .select_related("principal", "role", "scope", "decided_by", "instance")
            .order_by("principal__display_name", "pk"))


def reviewer_items(*, user, instance: AccessReviewInstance, at: datetime | None = None) -> QuerySet[AccessReviewItem]:
    at = at or timezone.now()
    return with_live_recommendations(
        instance_items(instance=instance).filter(reviewer_item_q(user=user, at=at)), at=at)


def my_review_summaries(*, user, at: datetime | None = None) -> list[dict]:
    """Instances with items for `user` (in progress first), with the user's totals: two queries."""
    at = at or timezone.now()
    rows = list(
        Item.objects.filter(reviewer_item_q(user=user, at=at))
        .values("instance_id")
        .annotate(total=Count("pk"), pending=Count("pk", filter=Q(decision="")))
    )
    by_id = {row["instance_id"]: row for row in rows}
    instances = (Instance.objects.filter(pk__in=list(by_id)).select_related("review", "review__role", "review__scope")
                 .order_by("-start_at"))
    return [{"instance": inst, "total": by_id[inst.pk]["total"], "pending": by_id[inst.pk]["pending"]}
            for inst in instances]


def user_can_view_review(*, user, review: AccessReview) -> bool:
    return (review.created_by_id is not None and review.created_by_id == getattr(user, "pk", None)) or \
        assignment_selectors.user_can_view(user=user, role=review.role, scope=review.scope)


def user_can_manage_review(*, user, review: AccessReview) -> bool:
    return assignment_selectors.user_can_manage(user=user, role=review.role, scope=review.scope)


# --- Recipients ------------------------------------------------------------------------------------------


def _user_emails(principal_filter: Q) -> list[str]:
    return list(Principal.objects.filter(principal_filter, kind=Principal.Kind.USER, enabled=True)
                .exclude(email="").values_list("email", flat=True).distinct())


def _members_of(group_ids_qs, at: datetime) -> QuerySet:
    """User principals who are active members of any of these groups (principal ids) at `at`."""
    return Assignment.objects.filter(
        _held(at=at), kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_MEMBER,
        scope__group_id__in=group_ids_qs).values("principal_id")


def reviewer_emails(*, instance: AccessReviewInstance, pending_only: bool = False,
                    at: datetime | None = None) -> list[str]:
    """Addresses of the people who can decide items of `instance` (with undecided items when
    `pending_only`): named users and the members of named groups, the holders themselves under
    self-review, the owners of the groups under review, and the fallback reviewers when needed."""
    at = at or timezone.now()
    review = instance.review
    items = Item.objects.filter(instance=instance)
    if pending_only:
        items = items.filter(decision="")
    types = AccessReview.ReviewerType
    own = items.filter(needs_fallback=False)
    if review.reviewer_type == types.NAMED:
        named = AccessReview.reviewers.through.objects.filter(accessreview_id=review.pk).values("principal_id")
        who = Q(Exists(own)) & (Q(pk__in=named) | Q(pk__in=_members_of(named, at)))
    elif review.reviewer_type == types.SELF:
        who = Q(pk__in=own.values("principal_id"))
    else:
        owners = Assignment.objects.filter(
            _held(at=at), kind=Assignment.Kind.ACTIVE, role__slug=RoleDefinition.GROUP_OWNER,
            scope_id__in=own.values("scope_id")).values("principal_id")
        who = Q(pk__in=owners)
    fallback = AccessReview.fallback_reviewers.through.objects.filter(accessreview_id=review.pk).values("principal_id")
    who |= Q(Exists(items.filter(needs_fallback=True))) & (Q(pk__in=fallback) | Q(pk__in=_members_of(fallback, at)))
    return _user_emails(who)


def completion_emails(*, review: AccessReview) -> list[str]:
    notified = review.notify_on_completion.values("pk")
    creator = Q(user_id=review.created_by_id) if review.created_by_id else Q(pk__in=[])
    return _user_emails(creator | Q(pk__in=notified))
