"""Reads of the request pipeline: who may decide a request, the queues, a request's timeline.

Approvers (DESIGN §3 "Approval"): for a self activation, the users and the members of the groups
named in the role setting that applies; with none named, the role's administrators — directory
roles: Privileged Role Administrators and Global Administrators; resource roles: Owners and User
Access Administrators at the request's scope or above; group roles: the group's Owners. For a self
extend or renew, the administrators of that role (`assignments.selectors.admin_roles_for`). Never the
requester, neither directly nor through a group. Everything is decided *now*, from committed state.

`requests_decidable_queryset` is that rule as one SQL filter, driven from the approver's side (what they
hold, which policies name them), so a queue costs the same whatever the number of requests they are
not asked about; the queue, the bulk approval and the single-request check all use it, so they never
disagree.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from assignments import selectors as assignment_selectors
from assignments.models import ApprovalStage, Assignment, RoleDefinition, RoleSetting, ScopeClosure
from core.expressions import MinutesAsDuration

from .models import ApprovalDecision, ApprovalDelegation, Request

SELF_ACTIONS = [
    Request.Action.SELF_ACTIVATE,
    Request.Action.SELF_DEACTIVATE,
    Request.Action.SELF_EXTEND,
    Request.Action.SELF_RENEW,
    Request.Action.SELF_REQUEST_ELIGIBILITY,
]
# Decided by the role's administrators (not the policy's approvers): extensions, renewals, and the
# request catalogue's eligibility requests.
ADMIN_APPROVED_ACTIONS = (Request.Action.SELF_EXTEND, Request.Action.SELF_RENEW,
                          Request.Action.SELF_REQUEST_ELIGIBILITY)

# DESIGN §3: with no approver named in the policy, who decides an activation of a role of this kind.
FALLBACK_APPROVER_ROLES = {
    RoleDefinition.Kind.DIRECTORY: assignment_selectors.DIRECTORY_ADMIN_ROLES,
    RoleDefinition.Kind.RESOURCE: assignment_selectors.RESOURCE_ADMIN_ROLES,
    RoleDefinition.Kind.GROUP: [RoleDefinition.GROUP_OWNER],
}
RECENT_ACTIVATIONS_DAYS = 30
# "Owners of the scope" of an approval stage: resource Owners, and a group's Owners for group scopes.
STAGE_OWNER_ROLES = [RoleDefinition.OWNER, RoleDefinition.GROUP_OWNER]


def _request_list() -> QuerySet[Request]:
    return Request.objects.select_related(
        "principal", "role", "scope", "requested_by", "assignment", "eligible_assignment", "approval_stage"
    ).prefetch_related(
        Prefetch("decisions", queryset=ApprovalDecision.objects.select_related("approver", "on_behalf_of")
                 .order_by("decided_at"))
    )


def user_group_ids(*, user, at: datetime | None = None) -> list[int]:
    """Enabled groups the user is an active member of at `at` (one query)."""
    return assignment_selectors.principal_group_ids(principal=user.principal, at=at)


def _below(scope_ids) -> QuerySet:
    """The scopes at or below any of `scope_ids` (the closure table: one indexed range per id)."""
    return ScopeClosure.objects.filter(ancestor_id__in=scope_ids).values("descendant_id")


def _decidable_filter(*, user, now: datetime) -> Q | None:
    """The pending requests `user` may decide at `now`, as a filter on Request, or None when there is
    none (no query on requests at all then). Three small queries, each about the approver, never about
    the requests: the groups they are in, where they hold an administering role, and which policies
    name them. The filter is then driven from the approver's side — a role and the scopes below where
    they hold authority — so the requests nobody asked them about cost an index probe, not a row read
    in Python (`request_pending_role_scope_idx`).

    The rules, as in the module docstring: a self activation goes to the enabled approvers named in the
    nearest policy (`nearest`: the role's setting at the nearest scope at or above the request's), and
    with none named to the role kind's fallback roles held at the request's scope or above; a self extend
    or renew to the administrators of the role there. Never the requester.
    """
    if (user is None or not getattr(user, "is_authenticated", False) or not user.is_active
            or not hasattr(user, "principal")):
        return None
    me = user.principal
    if not me.enabled:
        return None
    mine = [me.pk, *user_group_ids(user=user, at=now)]
    admin_slugs = {s for slugs in FALLBACK_APPROVER_ROLES.values() for s in slugs}
    admin_slugs |= set(assignment_selectors.GROUP_ADMIN_ROLES) | set(assignment_selectors.RESOURCE_ADMIN_ROLES)
    admin_slugs |= set(assignment_selectors.DIRECTORY_ADMIN_ROLES) | set(STAGE_OWNER_ROLES)
    holds: dict[str, set[int]] = {}
    for slug, scope_id in assignment_selectors.role_assignments_held_by(
        principal=me, role_slugs=sorted(admin_slugs), at=now,
    ).values_list("role__slug", "scope_id"):
        holds.setdefault(slug, set()).add(scope_id)
    # Policies naming the approver or one of their groups (an enabled principal: `mine` are), and the
    # approval stages naming them as approvers or fallback approvers: one query (a UNION), rows tagged
    # by where they come from.
    named: dict[int, tuple[set[int], set[int]]] = {}  # role id → (setting ids, setting scope ids)
    stage_ids: dict[str, list[int]] = {"primary": [], "fallback": []}
    for source, row_id, role_id, scope_id in _named_rows(mine):
        if source == "setting":
            settings_of_role, scopes_of_role = named.setdefault(role_id, (set(), set()))
            settings_of_role.add(row_id)
            scopes_of_role.add(scope_id)
        else:
            stage_ids[source].append(row_id)

    def held(slugs) -> set[int]:
        return set().union(*(holds.get(slug, set()) for slug in slugs))

    # Each disjunct is written cheapest test first (PostgreSQL evaluates an AND / OR inside an
    # expression in the order written; `Q(**kwargs)` would sort them, putting the correlated `nearest`
    # subquery first): the per-row policy lookup runs only for the rows of the role that passed.
    decidable = Q(pk__in=[])
    # Requests waiting at a stage (`ApprovalStage`) go to that stage's approvers only; the setting's own
    # approvers and the fallback roles decide the requests without stages.
    for role_id, (setting_ids, scope_ids) in named.items():
        decidable |= (Q(action=Request.Action.SELF_ACTIVATE) & Q(role_id=role_id)
                      & Q(scope_id__in=_below(sorted(scope_ids))) & Q(approval_stage__isnull=True)
                      & Q(nearest__in=sorted(setting_ids)))
    fallback_scopes = {kind: scopes for kind, slugs in FALLBACK_APPROVER_ROLES.items() if (scopes := held(slugs))}
    if fallback_scopes:
        # The fallback applies where the nearest policy names nobody (and has no stages). A role none of
        # whose settings names an enabled approver needs no per-row lookup at all (one small query on the
        # policies).
        naming_roles = sorted(set(
            RoleSetting.approvers.through.objects.filter(principal__enabled=True)
            .values_list("rolesetting__role_id", flat=True).distinct()))
        names_nobody = (~Q(role_id__in=naming_roles) | Q(nearest_names_someone=False)) if naming_roles else Q()
        for kind, scopes in fallback_scopes.items():
            decidable |= (Q(action=Request.Action.SELF_ACTIVATE) & Q(role__kind=kind)
                          & Q(scope_id__in=_below(sorted(scopes))) & Q(approval_stage__isnull=True) & names_nobody)
    staged = _stage_filter(primary=sorted(set(stage_ids["primary"])), fallback=sorted(set(stage_ids["fallback"])),
                           owner_scopes=held(STAGE_OWNER_ROLES))
    if staged is not None:
        decidable |= staged
    for kind in RoleDefinition.Kind.values:
        if scopes := held(assignment_selectors.admin_roles_for(role=RoleDefinition(kind=kind))):
            decidable |= (Q(action__in=ADMIN_APPROVED_ACTIONS) & Q(role__kind=kind)
                          & Q(scope_id__in=_below(sorted(scopes))))
    if not named and not holds and staged is None:
        return None
    return (
        Q(status=Request.Status.PENDING_APPROVAL)
        & (Q(approval_deadline__isnull=True) | Q(approval_deadline__gt=now) | Q(escalated_deadline__gt=now))
        & ~Q(requested_by_id=user.pk) & ~Q(principal_id=me.pk)
        & decidable
    )


def _named_rows(mine: list[int]) -> list[tuple[str, int, int, int]]:
    """(source, id, role id, scope id) of the role settings ("setting") and of the approval stages
    ("primary" / "fallback") that name one of `mine` (enabled principals), in one query."""
    settings_named = (RoleSetting.approvers.through.objects.filter(principal_id__in=mine, principal__enabled=True)
                      .annotate(source=Value("setting"))
                      .values_list("source", "rolesetting_id", "rolesetting__role_id", "rolesetting__scope_id"))
    stages_named = (ApprovalStage.approvers.through.objects.filter(principal_id__in=mine, principal__enabled=True)
                    .annotate(source=Value("primary"), none=Value(0))
                    .values_list("source", "approvalstage_id", "none", "none"))
    fallbacks_named = (ApprovalStage.fallback_approvers.through.objects
                       .filter(principal_id__in=mine, principal__enabled=True)
                       .annotate(source=Value("fallback"), none=Value(0))
                       .values_list("source", "approvalstage_id", "none", "none"))
    return list(settings_named.union(stages_named, fallbacks_named))


def _stage_filter(*, primary: list[int], fallback: list[int], owner_scopes: set[int]) -> Q | None:
    """The staged requests whose current stage asks the approver, as a filter, or None: named in the stage
    (`primary`, not escalated), named as its fallback (`fallback`, escalated), or, for a stage of the scope's
    owners, holding Owner at or above the request's scope (`owner_scopes`). No query."""
    found = Q(pk__in=[])
    # A stage that timed out and escalates belongs to its fallback approvers from its deadline, to the
    # second, whether the escalation sweep has run or not (`stage_timed_out`: see `_decidable_filter`).
    if primary:
        found |= Q(approval_stage_id__in=primary, stage_escalated=False, stage_timed_out=False)
    if fallback:
        found |= Q(approval_stage_id__in=fallback) & (Q(stage_escalated=True) | Q(stage_timed_out=True))
    if owner_scopes:
        found |= Q(approval_stage__owners_of_scope=True, stage_escalated=False, stage_timed_out=False,
                   scope_id__in=_below(sorted(owner_scopes)))
    if not (primary or fallback or owner_scopes):
        return None
    return Q(action=Request.Action.SELF_ACTIVATE, approval_stage__isnull=False) & found


def delegators_of(*, user, at: datetime | None = None) -> list:
    """The users who have delegated their approvals to `user` at `at` (current, not revoked), with the
    delegation: [(delegator, delegation)]. One query. Delegations do not chain."""
    at = at or timezone.now()
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    rows = (ApprovalDelegation.objects.filter(delegate=user, revoked_at__isnull=True, starts_at__lte=at, ends_at__gt=at,
                                              delegator__is_active=True)
            .select_related("delegator__principal").order_by("starts_at", "pk"))
    return [(row.delegator, row) for row in rows]


def _with_nearest_setting(qs: QuerySet[Request], *, now: datetime) -> QuerySet[Request]:
    """`nearest`: the id of the policy that applies to each request (its role's setting at the nearest
    scope at or above its scope), and `nearest_names_someone`: whether that policy names an enabled
    approver. Aliases: computed in SQL, only for the rows the cheaper conditions let through."""
    nearest = (
        RoleSetting.objects.filter(role_id=OuterRef("role_id"),
                                   scope__descendant_links__descendant_id=OuterRef("scope_id"))
        .order_by("scope__descendant_links__depth").values("pk")[:1]
    )
    return _with_stage_timing(qs.alias(nearest=Subquery(nearest)).alias(nearest_names_someone=Exists(
        RoleSetting.approvers.through.objects.filter(rolesetting_id=OuterRef("nearest"), principal__enabled=True))),
        now=now)


def _with_stage_timing(qs: QuerySet[Request], *, now: datetime) -> QuerySet[Request]:
    """`stage_timed_out`: the request waits at a stage that escalates, the sweep has not escalated it, and
    its deadline has passed at `now`; `escalated_deadline`: when such a request's escalation ends (its
    stage's deadline plus another timeout), else null. The time predicates of the escalation over
    committed state, so that the decision rules hold to the second without waiting for the sweep."""
    due = Q(stage_escalated=False, approval_stage__escalate_on_timeout=True, approval_deadline__lte=now)
    return qs.alias(
        stage_timed_out=Case(When(due, then=Value(True)), default=Value(False), output_field=BooleanField()),
        escalated_deadline=Case(When(due, then=ExpressionWrapper(
            F("approval_deadline") + MinutesAsDuration(F("approval_stage__timeout_minutes")),
            output_field=DateTimeField())), default=None, output_field=DateTimeField()))


def requests_decidable_queryset(*, user, now: datetime | None = None,
                                queryset: QuerySet[Request] | None = None) -> QuerySet[Request]:
    """Of `queryset` (default: every request), those `user` may decide at `now`, as one query."""
    now = now or timezone.now()
    queryset = Request.objects.all() if queryset is None else queryset
    condition = _decidable_filter(user=user, now=now)
    # What the users who delegated to `user` may decide, except `user`'s own requests.
    delegated = [found for delegator, _ in (delegators_of(user=user, at=now) if _may_decide(user) else [])
                 if (found := _decidable_filter(user=delegator, now=now)) is not None]
    if delegated:
        me = user.principal.pk
        mine = Q(requested_by_id=user.pk) | Q(principal_id=me)
        for found in delegated:
            condition = (found & ~mine) if condition is None else (condition | (found & ~mine))
    if condition is None:
        return queryset.none()
    return _with_nearest_setting(queryset, now=now).filter(condition)


def _may_decide(user) -> bool:
    """An enabled person signed in (what a delegate must be, whatever they were delegated)."""
    return bool(user is not None and getattr(user, "is_authenticated", False) and user.is_active
                and hasattr(user, "principal") and user.principal.enabled)


def approver_decides_as(*, user, request: Request, now: datetime | None = None):
    """Whom `user` decides `request` for now: `(True, None)` in their own right, `(True, delegation)`
    for the first current delegator who may decide it (never the delegate's own request), or
    `(False, None)`. A few small queries per delegator."""
    now = now or timezone.now()
    one = Request.objects.filter(pk=request.pk)
    condition = _decidable_filter(user=user, now=now)
    if condition is not None and _with_nearest_setting(one, now=now).filter(condition).exists():
        return True, None
    if request.requested_by_id == getattr(user, "pk", None) or (
            hasattr(user, "principal") and request.principal_id == user.principal.pk):
        return False, None
    for delegator, delegation in delegators_of(user=user, at=now) if _may_decide(user) else []:
        found = _decidable_filter(user=delegator, now=now)
        if found is not None and _with_nearest_setting(one, now=now).filter(found).exists():
            return True, delegation
    return False, None


def _decidable_request_ids(*, user, requests: list[Request], now: datetime | None = None) -> set:
    """Of `requests` (saved rows), the ones `user` may decide now. A constant number of queries (≤ 4)."""
    ids = [r.pk for r in requests]
    if not ids:
        return set()
    return set(requests_decidable_queryset(user=user, now=now, queryset=Request.objects.filter(pk__in=ids))
               .values_list("pk", flat=True))


def requests_decidable_by(*, user, requests: list[Request]) -> set:
    """The ids of those of `requests` that `user` may decide now (a constant number of queries)."""
    return _decidable_request_ids(user=user, requests=requests)


def approver_can_decide(*, user, request: Request) -> bool:
    """May `user` approve or deny `request` now? (pending, in its window, authorised, not the requester)"""
    return request.pk in _decidable_request_ids(user=user, requests=[request])


def _pending_for_approver(*, user, now: datetime) -> QuerySet[Request]:
    """The queue's rows as one query, with what the queue shows loaded (decisions, permissions)."""
    return (requests_decidable_queryset(user=user, now=now, queryset=_request_list())
            .prefetch_related("role__permissions"))


def _with_recent_activations(rows: list[Request], *, now: datetime) -> list[Request]:
    """`recent_activations` (five) and `recent_activation_count` of each row's requester: one query."""
    recent: dict[int, list[Assignment]] = {}
    if rows:
        for activation in (
            Assignment.objects.filter(
                principal_id__in={r.principal_id for r in rows},
                activated_from__isnull=False,
                created_at__gte=now - timedelta(days=RECENT_ACTIVATIONS_DAYS),
            )
            .select_related("role", "scope")
            .order_by("-created_at")
        ):
            recent.setdefault(activation.principal_id, []).append(activation)
    for r in rows:
        r.recent_activations = recent.get(r.principal_id, [])[:5]
        r.recent_activation_count = len(recent.get(r.principal_id, []))
    return rows


def request_queryset_pending_for_approver(*, user) -> QuerySet[Request]:
    """The pending requests `user` may decide now, unordered and unsliced, for a caller that pages them
    itself (the API's cursor): narrow rows (the request table alone, its keyset columns), so that the
    page is chosen before anything is joined; load the page's rows with `request_rows_in_order`."""
    if not _authenticated(user):
        return Request.objects.none()
    return requests_decidable_queryset(user=user).only("id", "created_at")


def _authenticated(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "principal")


def request_list_pending_for_approver(*, user) -> list[Request]:
    """Every pending request `user` may decide now, oldest first, with what the queue page shows:
    the role's permissions, the decisions so far and the requester's recent activations
    (`request.recent_activations`). A constant number of queries whatever the number of rows; the pages
    use `request_page_pending_for_approver`, which reads one page of them."""
    now = timezone.now()
    if not _authenticated(user):
        return []
    rows = list(_pending_for_approver(user=user, now=now).order_by(*QUEUE_ORDER))
    return _with_recent_activations(rows, now=now)


# The queue's order (oldest first) and its keyset: (created_at, id). A page is one LIMIT query after the
# cursor on the request table alone (the decidable pending rows, found through
# `request_pending_role_scope_idx`, sorted by their narrow keys), then the page's 50 rows are loaded:
# an Owner at `/` who may decide thousands of requests reads 50.
QUEUE_ORDER = ("created_at", "id")
QUEUE_PAGE_SIZE = 50
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def queue_cursor_of(row: Request) -> str:
    """A row's place in the queue: microseconds since the epoch and the id (`12345.uuid`)."""
    return f"{(row.created_at - _EPOCH) // timedelta(microseconds=1)}.{row.pk}"


def queue_cursor_parse(text: str | None) -> tuple[datetime, uuid.UUID] | None:
    """A cursor of `queue_cursor_of` back to its key, or None if it is not one (a hand-edited address
    shows the first page, never a 500)."""
    if not text or len(text) > 80:
        return None
    micros, _, pk = str(text).partition(".")
    try:
        at = _EPOCH + timedelta(microseconds=int(micros))
        return at, uuid.UUID(pk)
    except (ValueError, OverflowError):
        return None


def _loaded(page_ids: QuerySet[Request]) -> list[Request]:
    """The rows of a page chosen by `page_ids` (a sliced, ordered queryset of the queue), in its order.
    Two queries rather than one: the page is chosen on the request table alone (narrow rows, sorted and
    cut to LIMIT), and only the rows shown are joined to their principal, role, scope and assignments;
    joined first, PostgreSQL joins every decidable request before it sorts."""
    return request_rows_in_order(ids=list(page_ids.values_list("pk", flat=True)))


def request_rows_in_order(*, ids: list) -> list[Request]:
    """The requests `ids`, in that order, with what a queue row shows (principal, role and its
    permissions, scope, decisions): three queries whatever the number of ids."""
    if not ids:
        return []
    place = {pk: index for index, pk in enumerate(ids)}
    rows = _request_list().prefetch_related("role__permissions").filter(pk__in=ids)
    return sorted(rows, key=lambda row: place[row.pk])


def request_page_pending_for_approver(*, user, after: str | None = None, before: str | None = None,
                                      size: int = QUEUE_PAGE_SIZE) -> assignment_selectors.KeysetPage:
    """One page of the approver's queue (`request_list_pending_for_approver`'s rows, in its order): the
    first, the one after the cursor `after`, or the one before `before`. A constant number of queries
    (the approver's three, the page's LIMIT size + 1, its decisions, permissions and recent
    activations), none of them growing with the number of requests the approver may decide."""
    from django.db.models import F
    from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan

    now = timezone.now()
    if not _authenticated(user):
        return assignment_selectors.KeysetPage([], None, None)
    rows = requests_decidable_queryset(user=user, now=now)
    key = Tuple(*(F(name) for name in QUEUE_ORDER))
    start, end = queue_cursor_parse(after), queue_cursor_parse(before)
    if end is not None and start is None:
        found = _loaded(rows.filter(TupleLessThan(key, end)).order_by(*(f"-{n}" for n in QUEUE_ORDER))[:size + 1])
        more_before = len(found) > size
        found = _with_recent_activations(found[:size][::-1], now=now)
        return assignment_selectors.KeysetPage(found, queue_cursor_of(found[-1]) if found else None,
                                               queue_cursor_of(found[0]) if found and more_before else None)
    if start is not None:
        rows = rows.filter(TupleGreaterThan(key, start))
    found = _loaded(rows.order_by(*QUEUE_ORDER)[:size + 1])
    more = len(found) > size
    found = _with_recent_activations(found[:size], now=now)
    return assignment_selectors.KeysetPage(found, queue_cursor_of(found[-1]) if more else None,
                                           queue_cursor_of(found[0]) if start is not None and found else None)


# My requests: what still waits (a decision, or its start) and what is over.
PENDING_STATUSES = (Request.Status.PENDING_APPROVAL, Request.Status.APPROVED, Request.Status.SCHEDULED)
REQUEST_TABS = ("pending", "history")


def request_list_for_requester(*, user, limit: int | None = 200, tab: str | None = None) -> QuerySet[Request]:
    """The user's own self-service requests, newest first, with decisions and assignment loaded;
    `tab` "pending" (waiting for a decision or for their start) or "history" (the rest)."""
    qs = _request_list().filter(requested_by=user, action__in=SELF_ACTIONS).order_by("-created_at", "pk")
    if tab == "pending":
        qs = qs.filter(status__in=PENDING_STATUSES)
    elif tab == "history":
        qs = qs.exclude(status__in=PENDING_STATUSES)
    return qs[:limit] if limit else qs


def request_has_pending(*, user) -> bool:
    """Has the user a request still waiting (the default tab of My requests)? One query."""
    return Request.objects.filter(requested_by=user, action__in=SELF_ACTIONS, status__in=PENDING_STATUSES).exists()


def request_state(*, request: Request, now: datetime | None = None) -> tuple[str, str]:
    """(label, badge class) of a request as its requester reads it: a provisioned request whose
    assignment has ended since says so ("Ended"), not "Provisioned". Uses the loaded assignment."""
    now = now or timezone.now()
    status = request.status
    if status == Request.Status.PROVISIONED:
        if request.action == Request.Action.SELF_DEACTIVATE:
            return "Deactivated", ""
        assignment = request.assignment
        if assignment is not None and (assignment.status == Assignment.Status.ENDED or (
                assignment.end_at is not None and assignment.end_at <= now)):
            reason = assignment.get_end_reason_display() if assignment.status == Assignment.Status.ENDED else ""
            return (f"Ended ({reason.lower()})" if reason else "Ended"), ""
        return request.get_status_display(), "badge-ok"
    if status == Request.Status.PENDING_APPROVAL:
        return "Pending approval", "badge-info"
    if status in (Request.Status.SCHEDULED, Request.Status.APPROVED):
        return request.get_status_display(), "badge-info"
    if status in (Request.Status.CANCELED, Request.Status.TIMED_OUT):
        return request.get_status_display(), "badge-warn"
    return request.get_status_display(), "badge-danger"


def request_get_for_user(*, user, request_id) -> Request | None:
    """One request, with the rows its page needs (no visibility rule: the view decides)."""
    return _request_list().filter(pk=request_id).first()


@dataclass(frozen=True)
class TimelineEntry:
    label: str
    at: datetime | None
    who: str = ""
    detail: str = ""
    state: str = "done"  # done | pending | bad


def request_timeline(*, request: Request) -> list[TimelineEntry]:
    """requested → approvals (who, when, why) → outcome → provisioned → effective → ended.
    Uses the prefetched decisions and assignment when present (no query then)."""
    now = timezone.now()
    ticket = f"{request.ticket_system} {request.ticket_number}".strip()
    detail = request.justification + (f" · ticket {ticket}" if ticket else "")
    requester = request.requested_by or (f"{request.principal} (service principal)"
                                         if request.principal.is_service_principal else "system")
    entries = [TimelineEntry("Requested", request.created_at, str(requester), detail)]
    for decision in request.decisions.all():
        label = decision.get_decision_display() + (f" (stage {decision.stage_position})"
                                                   if decision.stage_position else "")
        who = str(decision.approver) + (f" for {decision.on_behalf_of}" if decision.on_behalf_of_id else "")
        entries.append(TimelineEntry(
            label, decision.decided_at, who, decision.comment,
            "done" if decision.decision == ApprovalDecision.Decision.APPROVE else "bad",
        ))
    status = request.status
    if status == Request.Status.PENDING_APPROVAL:
        stage = request.approval_stage if request.approval_stage_id else None
        approvals = sum(1 for d in request.decisions.all() if d.decision == ApprovalDecision.Decision.APPROVE
                        and (stage is None or d.stage_position == stage.position))
        at = f" at {stage.label}" + (" (escalated to its fallback approvers)" if request.stage_escalated else "") \
            if stage is not None else ""
        ends = "escalates or times out" if stage is not None and stage.escalate_on_timeout and \
            not request.stage_escalated else "times out"
        entries.append(TimelineEntry(
            "Waiting for approval", request.approval_deadline, "",
            f"{approvals} of {request.approvals_required} approvals{at}; {ends} at the time shown", "pending",
        ))
        return entries
    if status in (Request.Status.DENIED, Request.Status.CANCELED, Request.Status.TIMED_OUT, Request.Status.FAILED):
        entries.append(TimelineEntry(request.get_status_display(), request.decided_at or request.updated_at, "",
                                     request.status_message, "bad"))
        return entries
    if request.provisioned_at:
        entries.append(TimelineEntry("Provisioned", request.provisioned_at, "", request.status_message))
    assignment = request.assignment
    if assignment is None:
        return entries
    if request.action in (Request.Action.SELF_ACTIVATE, Request.Action.SELF_RENEW):
        starts = assignment.start_at
        entries.append(TimelineEntry("Effective", starts, "", "", "done" if starts <= now else "pending"))
    ended_at = assignment.ended_at if assignment.status == Assignment.Status.ENDED else None
    if ended_at is None and assignment.end_at is not None and assignment.end_at <= now:
        ended_at = assignment.end_at
    if request.action == Request.Action.SELF_DEACTIVATE:
        entries.append(TimelineEntry("Deactivated", ended_at or request.provisioned_at, "", ""))
    elif ended_at is not None:
        entries.append(TimelineEntry("Ended", ended_at, "", assignment.get_end_reason_display() or "Expired"))
    elif assignment.end_at is not None:
        entries.append(TimelineEntry("Ends", assignment.end_at, "", "", "pending"))
    return entries


# --- My roles ---------------------------------------------------------------------------------------


@dataclass
class MyRoles:
    eligible: list[Assignment]
    active: list[Assignment]
    expired: list[Assignment]


def my_roles(*, user, now: datetime | None = None) -> MyRoles:
    """The user's eligible assignments (their own and their groups'), active ones, and those that
    expired in the last 30 days (renewable). Three queries whatever the number of rows."""
    now = now or timezone.now()
    me = user.principal
    groups = user_group_ids(user=user, at=now)
    base = Assignment.objects.select_related("role", "scope", "principal", "activated_from")
    eligible = list(
        base.filter(principal_id__in=[me.pk, *groups], kind=Assignment.Kind.ELIGIBLE).not_over_at(now)
        .order_by("role__name", "scope__path")
    )
    active = list(
        base.filter(principal=me, kind=Assignment.Kind.ACTIVE).not_over_at(now)
        .order_by("role__name", "scope__path")
    )
    renew_since = now - settings.PIM_RENEW_WINDOW
    expired = list(
        base.filter(principal=me, activated_from__isnull=True)
        .filter(
            Q(status=Assignment.Status.LIVE, end_at__lte=now, end_at__gt=renew_since)
            | Q(status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.EXPIRED, end_at__gt=renew_since)
        )
        .order_by("-end_at")
    )
    active_keys = {(a.role_id, a.scope_id) for a in active}
    live_keys = {(a.role_id, a.scope_id, a.kind) for a in eligible + active if a.principal_id == me.pk}
    expired = [a for a in expired if (a.role_id, a.scope_id, a.kind) not in live_keys]
    for e in eligible:
        e.is_active_now = any(key == (e.role_id, e.scope_id) for key in active_keys)
        e.via_group = e.principal_id != me.pk
    extend_until = now + settings.PIM_EXTEND_WINDOW
    for a in active + eligible:
        a.time_left = (a.end_at - now) if a.end_at else None
        a.can_extend = a.end_at is not None and a.principal_id == me.pk and a.end_at <= extend_until
        a.can_deactivate = a.is_activation and a.principal_id == me.pk
    return MyRoles(eligible=eligible, active=active, expired=expired)


def pending_request_for(*, user, assignment_ids: list[int]) -> dict[int, Request]:
    """Open requests of the user keyed by the assignment they concern (one query)."""
    rows = Request.objects.filter(
        requested_by=user, status=Request.Status.PENDING_APPROVAL, eligible_assignment_id__in=assignment_ids
    )
    return {r.eligible_assignment_id: r for r in rows}


# --- approval stages ----------------------------------------------------------------------------------


def stage_first(*, setting: RoleSetting) -> ApprovalStage | None:
    """The first approval stage of `setting` (None: no stages, the setting's own fields are its one
    stage; an unsaved default setting never has stages)."""
    if setting.pk is None:
        return None
    return ApprovalStage.objects.filter(setting_id=setting.pk).order_by("position").first()


def stage_after(*, stage: ApprovalStage) -> ApprovalStage | None:
    return (ApprovalStage.objects.filter(setting_id=stage.setting_id, position__gt=stage.position)
            .order_by("position").first())


def role_setting_stages(*, setting: RoleSetting) -> list[ApprovalStage]:
    """The stages of `setting` in order, with their approvers (three queries)."""
    if setting.pk is None:
        return []
    return list(ApprovalStage.objects.filter(setting_id=setting.pk).order_by("position")
                .prefetch_related("approvers", "fallback_approvers"))


@dataclass(frozen=True)
class StageView:
    """One stage of a request as its page shows it: where it stands and who decided it."""

    position: int
    label: str
    approvers: str
    needed: int
    approvals: int
    state: str  # done | current | escalated | waiting | denied
    decisions: list
    deadline: datetime | None = None


def _stage_approvers_label(stage: ApprovalStage, *, escalated: bool) -> str:
    names = [str(p) for p in (stage.fallback_approvers.all() if escalated else stage.approvers.all())]
    if stage.owners_of_scope and not escalated:
        names.append("the owners of the scope")
    return ", ".join(names) or "nobody"


def request_stages(*, request: Request) -> list[StageView]:
    """The stages of a staged request, each with its quorum, its decisions and its state (empty for a
    request without stages). Uses the prefetched decisions; a few queries for the stages."""
    if not request.approval_stage_id:
        return []
    current = request.approval_stage
    stages = list(ApprovalStage.objects.filter(setting_id=current.setting_id).order_by("position")
                  .prefetch_related("approvers", "fallback_approvers"))
    decisions = list(request.decisions.all())
    closed = request.status != Request.Status.PENDING_APPROVAL
    views = []
    for stage in stages:
        mine = [d for d in decisions if d.stage_position == stage.position]
        approvals = sum(1 for d in mine if d.decision == ApprovalDecision.Decision.APPROVE)
        escalated = stage.pk == current.pk and request.stage_escalated
        if stage.position < current.position:
            state = "done"
        elif stage.position > current.position:
            state = "waiting"
        elif any(d.decision == ApprovalDecision.Decision.DENY for d in mine):
            state = "denied"
        elif closed:
            state = "done" if request.status in (Request.Status.PROVISIONED, Request.Status.SCHEDULED,
                                                 Request.Status.APPROVED, Request.Status.FAILED) else request.status
        else:
            state = "escalated" if escalated else "current"
        views.append(StageView(
            position=stage.position, label=stage.label,
            approvers=_stage_approvers_label(stage, escalated=escalated),
            needed=stage.fallback_approvals_required if escalated else stage.approvals_required,
            approvals=approvals, state=state, decisions=mine,
            deadline=request.approval_deadline if stage.pk == current.pk and not closed else None))
    return views


def delegations_of(*, user) -> QuerySet[ApprovalDelegation]:
    """The delegations `user` gave and received, newest first (the Delegation page)."""
    return (ApprovalDelegation.objects.filter(Q(delegator=user) | Q(delegate=user))
            .select_related("delegator", "delegate", "revoked_by").order_by("-starts_at", "-pk"))
