"""Domain events → email outbox rows, written inside the emitting transaction.

`on_domain_event` is subscribed in `NotificationsConfig.ready()`. For each event it works out the
recipients (the role setting's matrix, DESIGN §3 fallbacks), and queues one email per recipient
with a dedupe key naming the event, so each recipient gets each notice once however often the
event is emitted (a scheduled activation's start, a task delivered twice, two sweeps).

Safety: the handler runs in a savepoint and logs instead of raising — every service in the portal
emits into it, and a notification problem must never undo a privilege change (least of all a
deactivation). Contexts are plain JSON; rendering happens at delivery (`notifications.email`).

`on_domain_events_many`: the set-based form, for `domain_events.emit_many` (the expiry sweep). It
works from plain rows, resolves each policy's recipients once per batch and writes the batch's emails
with one bulk insert, still inside the sweep's transaction.
"""

import functools
import logging
import math
from datetime import UTC, datetime, timedelta

from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from approvals.models import ApprovalDelegation, Request
from assignments import selectors as assignment_selectors
from assignments.models import Assignment, Principal, RoleDefinition, Scope

from .email import absolute_url, email_enqueue_each, email_enqueue_many
from .recipients import (
    DIGEST_ROLES,
    Resolver,
    holders_emails,
    matrix_cell,
    matrix_row_for,
    stage_approvers_emails,
)

logger = logging.getLogger(__name__)

# (recipients, template, context, dedupe_key, correlation_id)
Item = tuple[list[str], str, dict, str, object]


# --- links ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _first_url_name(names: tuple[str, ...], nargs: int) -> str | None:
    import uuid

    for name in names:
        for probe in ((1,) * nargs, (uuid.UUID(int=1),) * nargs):
            try:
                reverse(name, args=probe)
                return name
            except NoReverseMatch:
                continue
            except Exception:  # noqa: BLE001 — a URLconf that does not import: fall back to the plain path
                return None
    return None


def _url(names: tuple[str, ...], args: tuple, fallback: str) -> str:
    """Absolute link to the first URL name that exists (apps are built concurrently); else `fallback`."""
    name = _first_url_name(names, len(args))
    if name is not None:
        try:
            return absolute_url(reverse(name, args=args))
        except NoReverseMatch:
            pass
    return absolute_url(fallback)


def approval_url(request_id) -> str:
    """The approval page of one request: the request page, which shows approvers the decision form
    (sign-in, then MFA step-up where the policy needs it, bring the approver back there)."""
    return _url(("approvals:request_detail",), (request_id,), f"/requests/{request_id}/") + "#decide"


def request_url(request_id) -> str:
    return _url(("approvals:request_detail", "approvals:request"), (request_id,), f"/requests/{request_id}/")


@functools.lru_cache(maxsize=1)
def _my_roles_path() -> str:
    """The path is constant for the process: resolve it once, not once per event of a sweep."""
    name = _first_url_name(("approvals:my_roles", "portal:home"), 0)
    try:
        return reverse(name) if name is not None else "/"
    except NoReverseMatch:
        return "/"


@functools.lru_cache(maxsize=1)
def my_roles_url() -> str:
    return absolute_url(_my_roles_path())


@functools.lru_cache(maxsize=1)
def _assignment_url_template() -> str:
    return _url(("assignments:detail",), (987654321,), "/")


@functools.lru_cache(maxsize=8)
def _own_url_template(name: str) -> str:
    """The assignee's own page for an assignment (activate, extend, renew), or "" if it does not exist."""
    return _url((name,), (987654321,), "")


# The links above are cached for the process (a sweep builds two per row, and reading a setting costs
# more than the rest of building the link); a changed SITE_URL or URLconf (tests) clears them.
@receiver(setting_changed)
def _forget_links(*, setting: str, **kwargs) -> None:
    if setting in ("SITE_URL", "ROOT_URLCONF"):
        for cached in (_first_url_name, _my_roles_path, my_roles_url, _assignment_url_template, _own_url_template):
            cached.cache_clear()


def assignment_url(assignment_id: int) -> str:
    """Absolute link to an assignment's page (reversed once; sweeps call this per row)."""
    return _assignment_url_template().replace("987654321", str(assignment_id))


def own_assignment_url(action: str, assignment_id: int) -> str:
    """Where the assignee acts on their own assignment: `action` is "activate", "extend" or "renew"
    (the self-service pages of approvals); My roles if that page does not exist."""
    template = _own_url_template(f"approvals:{action}")
    return template.replace("987654321", str(assignment_id)) if template else my_roles_url()


# --- formatting -------------------------------------------------------------------------------------


def _when(at: datetime | None) -> str:
    """Like "2026-11-27 19:20 UTC" (an f-string: strftime costs more, and a sweep formats every row)."""
    if at is None:
        return "never (permanent)"
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    return f"{at.year:04d}-{at.month:02d}-{at.day:02d} {at.hour:02d}:{at.minute:02d} UTC"


def assignment_context(assignment: Assignment, *, principal_label: str, role: RoleDefinition,
                       scope: Scope) -> dict:
    """What every assignment email shows. `link` is the administrators' (the assignment's page);
    the assignee's own copy gets `you` and a link to where they act (`_for_the_assignee`)."""
    row = matrix_row_for(assignment)
    return {
        "assignment_id": assignment.pk,
        "principal": principal_label,
        "role": role.name,
        "privileged": role.is_privileged,
        "scope": scope.path,
        "row": row,
        "kind": _KIND_WORDS[row],
        "noun": _NOUN_PHRASES[row].format(role=role.name),
        "start": _when(assignment.start_at),
        "end": _when(assignment.end_at),
        "permanent": assignment.end_at is None,
        "justification": assignment.justification,
        "link": assignment_url(assignment.pk),
    }


_KIND_WORDS = {"eligible_activated": "activation", "eligible_assigned": "eligible assignment",
               "active_assigned": "active assignment"}
# How a subject names the assignment: "Alice Andersen's eligibility for Exchange Administrator".
_NOUN_PHRASES = {"eligible_activated": "activation of {role}", "eligible_assigned": "eligibility for {role}",
                 "active_assigned": "assignment of {role}"}

# How a request is named in a sentence: "Alice Andersen's activation of Security Administrator".
_REQUEST_NOUNS = {
    Request.Action.SELF_ACTIVATE: "activation", Request.Action.SELF_DEACTIVATE: "deactivation",
    Request.Action.SELF_EXTEND: "extension", Request.Action.SELF_RENEW: "renewal",
    Request.Action.ADMIN_ASSIGN: "assignment", Request.Action.ADMIN_UPDATE: "update",
    Request.Action.ADMIN_REMOVE: "removal", Request.Action.ADMIN_EXTEND: "extension",
    Request.Action.ADMIN_RENEW: "renewal", Request.Action.ADMIN_MAKE_ACTIVE: "conversion to active",
    Request.Action.SELF_REQUEST_ELIGIBILITY: "eligibility request",
}


def request_context(request: Request) -> dict:
    ticket = f"{request.ticket_system} {request.ticket_number}".strip()
    return {
        "request_id": str(request.pk),
        "action": request.get_action_display(),
        "noun": _REQUEST_NOUNS.get(request.action, "request"),
        "requester": str(request.requested_by) if request.requested_by_id else (
            f"{request.principal} (service principal)" if request.principal.is_service_principal else "system"),
        "principal": str(request.principal),
        "role": request.role.name,
        "privileged": request.role.is_privileged,
        "scope": request.scope.path,
        "justification": request.justification,
        "ticket": ticket,
        "start": _when(request.start_at) if request.start_at else "when approved",
        "duration_minutes": request.duration_minutes,
        "end": _when(request.end_at) if request.end_at else "",
        "deadline": _when(request.approval_deadline) if request.approval_deadline else "",
        "status_message": request.status_message,
        "approval_link": approval_url(request.pk),
        "request_link": request_url(request.pk),
    }


# --- what each event sends ---------------------------------------------------------------------------


def _is_silent(name: str, assignment) -> bool:
    """An activation running out is the normal case: the holder chose its duration. A static
    membership the directory sent (or took back) is the directory's business, not news: no email, and
    no recipients looked up for it (an LDAP first load adds 20,000 of them)."""
    if getattr(assignment, "origin", None) == Assignment.Origin.DIRECTORY:
        return True
    return name == "assignment.expired" and assignment.activated_from_id is not None


def _assignee_link(name: str, assignment, request_id) -> str:
    """Where the assignee acts on this notice: extend what is ending, renew what ended, activate an
    eligibility; otherwise the request it came from."""
    if name == "expiring":
        return own_assignment_url("extend", assignment.pk)
    if name == "assignment.expired":
        return own_assignment_url("renew", assignment.pk)
    if assignment.kind == Assignment.Kind.ELIGIBLE and assignment.activated_from_id is None:
        return own_assignment_url("activate", assignment.pk)
    return request_url(request_id) if request_id else my_roles_url()


def _for_the_assignee(name: str, recipients: list[str], ctx: dict, assignment, *, principal_kind: str,
                      resolver: Resolver, request_id, template: str, key: str) -> list[Item]:
    """Split one notice in two: the assignee's own copy, in the second person with the link to where
    they act, and everyone else's (administrators, extra addresses, a group's members)."""
    own = set()
    if principal_kind == Principal.Kind.USER:
        own = {a.lower() for a in resolver.assignee(assignment.principal_id)}
    yours = [a for a in recipients if a.lower() in own]
    others = [a for a in recipients if a.lower() not in own]
    items: list[Item] = []
    if yours:
        items.append((yours, template, {**ctx, "you": True, "link": _assignee_link(name, assignment, request_id)},
                      key, request_id))
    if others:
        items.append((others, template, ctx, key, request_id))
    return items


def _assignment_items(name: str, assignment, request: Request | None, *, principal_label: str,
                      principal_kind: str, role: RoleDefinition, scope: Scope, resolver: Resolver) -> list[Item]:
    """`assignment` is a model or an `assignments.batches.AssignmentRow` (same attribute names)."""
    ctx = assignment_context(assignment, principal_label=principal_label, role=role, scope=scope)
    row = matrix_row_for(assignment)
    recipients = resolver.recipients(row=row, columns=("admins", "assignee"), role=role, scope=scope,
                                     principal_id=assignment.principal_id)
    correlation = getattr(request, "pk", None)
    if name == "assignment.created":
        template, key = "email/assigned", f"assigned:{assignment.pk}"
    elif name == "assignment.activated":
        # Administrators read an activation on its request: the justification, ticket and approvals.
        if correlation is not None:
            ctx["link"] = request_url(correlation)
        template, key = "email/activated", f"activated:{assignment.pk}"
    elif name in ("assignment.extended", "assignment.renewed"):
        verb = "extended" if name == "assignment.extended" else "renewed"
        ctx["verb"] = verb
        # The justification of this extension (or renewal), not the one the assignment was made with.
        ctx["justification"] = request.justification if request is not None else ""
        ctx["requested_by"] = str(request.requested_by) if request is not None and request.requested_by_id else ""
        ctx["self_service"] = request is not None and request.action in (Request.Action.SELF_EXTEND,
                                                                          Request.Action.SELF_RENEW)
        template = "email/extended"
        key = f"{verb}:{assignment.pk}:{assignment.end_at.isoformat() if assignment.end_at else 'permanent'}"
    elif name == "assignment.expired":
        template, key = "email/expired", f"expired:{assignment.pk}"
    else:
        return []
    return _for_the_assignee(name, recipients, ctx, assignment, principal_kind=principal_kind, resolver=resolver,
                             request_id=correlation, template=template, key=key)


def _request_approvers(request: Request, resolver: Resolver) -> list[str]:
    """Who is asked to decide `request` (never the requester)."""
    role, scope = request.role, request.scope
    if request.action == Request.Action.SELF_ACTIVATE and request.approval_stage_id:
        # A staged request: its current stage's approvers (or fallback approvers, once escalated).
        approvers = stage_approvers_emails(stage=request.approval_stage, scope=scope,
                                           escalated=request.stage_escalated)
    elif request.action == Request.Action.SELF_ACTIVATE:
        setting = resolver.setting(role, scope)
        cell = matrix_cell(setting, "eligible_activated", "approvers")
        approvers = resolver.approvers(role, scope) if cell["default_recipients"] else []
        approvers = approvers + [str(a) for a in cell["extra_addresses"] or []]
        # "critical only" never silences a request somebody must act on.
    else:
        # Self extend / renew: decided by the administrators of the role (DESIGN §3).
        approvers = resolver.admins(role, scope)
    approvers = approvers + _delegates_of(approvers)
    mine = {a.lower() for a in _requester_emails(request)}
    return [a for a in approvers if a.lower() not in mine]  # nobody approves their own request


def _delegates_of(addresses: list[str]) -> list[str]:
    """The addresses of the delegates of these approvers whose delegation is in force now (out of office:
    their delegate decides, so their delegate is asked and reminded too). One query."""
    if not addresses:
        return []
    now = timezone.now()
    folded = {a.lower() for a in addresses}
    rows = (ApprovalDelegation.objects.filter(revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now,
                                              delegate__is_active=True, delegator__is_active=True)
            .values_list("delegator__email", "delegate__email"))
    return sorted({delegate for delegator, delegate in rows if delegate and (delegator or "").lower() in folded})


def _requester_emails(request: Request) -> list[str]:
    return [request.requested_by.email] if request.requested_by_id and request.requested_by.email else []


_OUTCOMES = {"request.approved": "approved", "request.denied": "denied", "request.timed_out": "timed_out",
             "request.canceled": "canceled"}


def _stage_context(request: Request, stage) -> dict:
    decisions = [d for d in request.decisions.select_related("approver", "on_behalf_of").order_by("decided_at", "pk")
                 if d.stage_position == stage.position and d.decision == "approve"]
    return {"stage": stage.label, "approvals": len(decisions),
            "needed": stage.fallback_approvals_required if request.stage_escalated else stage.approvals_required,
            "approvals_by": ", ".join(str(d.approver) + (f" for {d.on_behalf_of}" if d.on_behalf_of_id else "")
                                      for d in decisions),
            "escalates": stage.escalate_on_timeout and not request.stage_escalated}


def _decided_emails(request: Request) -> set[str]:
    """Who has decided the request already, themselves or through a delegate (not reminded)."""
    emails = set()
    for d in request.decisions.select_related("approver", "on_behalf_of"):
        for user in (d.approver, d.on_behalf_of):
            if user is not None and user.email:
                emails.add(user.email.lower())
    return emails


def _stage_items(name: str, request: Request, stage, resolver: Resolver, was_escalated: bool = False) -> list[Item]:
    """A stage decided (approved and moved on, or escalated), and reminders to who has not decided."""
    ctx = request_context(request)
    if name == "request.reminder":
        current = request.approval_stage if request.approval_stage_id else None
        if current is not None:
            ctx.update(_stage_context(request, current))
        else:
            ctx.update({"stage": "", "escalates": False})
        decided = _decided_emails(request)
        waiting = [a for a in _request_approvers(request, resolver) if a.lower() not in decided]
        at = request.approvers_reminded_at.isoformat() if request.approvers_reminded_at else ""
        return [(waiting, "email/approval_reminder", ctx, f"remind:{request.pk}:{at}", request.pk)]
    if stage is None:
        return []
    current = request.approval_stage
    if name == "request.escalated":
        told = stage_approvers_emails(stage=stage, scope=request.scope, escalated=False)
        asked = stage_approvers_emails(stage=stage, scope=request.scope, escalated=True)
        asked = asked + _delegates_of(asked)  # a fallback approver out of office: their delegate decides
        names = ", ".join(str(p) for p in stage.fallback_approvers.all())
        decided_ctx = {**ctx, **_stage_context(request, stage), "outcome": "escalated", "next": names}
        mine = {a.lower() for a in _requester_emails(request)}
        asked = [a for a in asked if a.lower() not in mine]
        return [(told, "email/stage_decided", decided_ctx, f"stage:{request.pk}:{stage.position}:escalated",
                 request.pk),
                (asked, "email/approval_request", {**ctx, "stage": stage.label},
                 f"approve:{request.pk}:{stage.position}:fallback", request.pk)]
    # request.stage_decided: `stage` is approved; `current` is the next stage.
    told = set(stage_approvers_emails(stage=stage, scope=request.scope, escalated=False))
    if was_escalated:  # its fallback approvers were asked too
        told |= set(stage_approvers_emails(stage=stage, scope=request.scope, escalated=True))
    told = sorted(told)
    previous = {**ctx, **_stage_context(request, stage), "outcome": "approved", "next": current.label}
    previous["needed"] = stage.fallback_approvals_required if was_escalated else stage.approvals_required
    return [(told, "email/stage_decided", previous, f"stage:{request.pk}:{stage.position}:approved", request.pk),
            (_request_approvers(request, resolver), "email/approval_request", {**ctx, "stage": current.label},
             f"approve:{request.pk}:{current.position}", request.pk)]


def _request_items(name: str, request: Request, actor=None, stage=None, was_escalated: bool = False) -> list[Item]:
    resolver = Resolver()
    if name in ("request.stage_decided", "request.escalated", "request.reminder"):
        return _stage_items(name, request, stage, resolver, was_escalated)
    ctx = request_context(request)
    requester = _requester_emails(request)
    if name == "request.created":
        if request.status != Request.Status.PENDING_APPROVAL:
            return []
        approvers = _request_approvers(request, resolver)
        submitted = {**ctx, "approver_count": len(approvers),
                     "approvals_needed": max(request.approvals_required or 1, 1)}
        return [(approvers, "email/approval_request", ctx, f"approve:{request.pk}", request.pk),
                (requester, "email/request_submitted", submitted, f"submitted:{request.pk}", request.pk)]
    outcome = _OUTCOMES.get(name)
    if outcome is None:
        return []
    ctx["outcome"] = outcome
    ctx["decided_by"] = str(actor) if actor is not None and getattr(actor, "pk", None) else ""
    decisions = list(request.decisions.select_related("approver").order_by("decided_at", "pk"))
    ctx["approvals"] = [{"by": str(d.approver), "comment": d.comment, "at": _when(d.decided_at)}
                        for d in decisions if d.decision == "approve"]
    final = next((d for d in reversed(decisions) if actor is not None and d.approver_id == actor.pk), None)
    ctx["comment"] = final.comment if final is not None else ""
    # Approved, then refused when carried out (the eligibility ended while it waited): say so.
    ctx["failed"] = outcome == "approved" and request.status == Request.Status.FAILED
    ctx["scheduled"] = request.status == Request.Status.SCHEDULED
    items: list[Item] = []
    if outcome != "canceled":  # the requester canceled it themselves
        items.append((requester, "email/request_decided", ctx, f"{outcome}:{request.pk}", request.pk))
    # Everyone else who was asked hears that the request is closed, and how (the reference product
    # tells every approver when one of them decided). The decider is not told of their own decision.
    decider = {actor.email.lower()} if actor is not None and getattr(actor, "email", "") else set()
    others = [a for a in _request_approvers(request, resolver) if a.lower() not in decider]
    items.append((others, "email/request_closed", ctx, f"closed:{request.pk}", request.pk))
    return items


def _delegation_items(name: str, delegation: ApprovalDelegation) -> list[Item]:
    """The delegate hears that a delegation to them was created or revoked (by whom, for when)."""
    delegate = delegation.delegate
    if not delegate.email:
        return []
    revoked = name == "delegation.revoked"
    ctx = {"delegator": str(delegation.delegator), "delegate": str(delegate), "starts_at": _when(delegation.starts_at),
           "ends_at": _when(delegation.ends_at), "reason": delegation.reason, "revoked": revoked,
           "revoked_by": str(delegation.revoked_by) if revoked and delegation.revoked_by_id else "",
           "revoked_at": _when(delegation.revoked_at) if revoked else "",
           "url": absolute_url(reverse("approvals:queue"))}
    return [([delegate.email], "email/delegation_changed", ctx,
             f"delegation:{delegation.pk}:{'revoked' if revoked else 'created'}", None)]


def _sends_nothing(name: str, payload: dict) -> bool:
    """What `_items` would return [] for without reading anything (no query, so no savepoint needed)."""
    if name.startswith("assignment."):
        return _is_silent(name, payload["assignment"])
    if name == "request.created":
        return payload["request"].status != Request.Status.PENDING_APPROVAL
    return not name.startswith(("request.", "delegation."))


def _items(name: str, payload: dict) -> list[Item]:
    if name.startswith("assignment."):
        assignment = payload["assignment"]
        if _is_silent(name, assignment):
            return []
        resolver = Resolver()
        if payload.get("policy") is not None:  # the setting the change was decided under, just read
            resolver.prime_setting(assignment.role, assignment.scope, payload["policy"])
        resolver.prime_principal(assignment.principal)  # loaded with its user: no query for the assignee
        return _assignment_items(name, assignment, payload.get("request"), principal_label=str(assignment.principal),
                                 principal_kind=assignment.principal.kind, role=assignment.role,
                                 scope=assignment.scope, resolver=resolver)
    if name.startswith("request."):
        return _request_items(name, payload["request"], payload.get("actor"), payload.get("stage"),
                              bool(payload.get("was_escalated")))
    if name in ("delegation.created", "delegation.revoked"):
        return _delegation_items(name, payload["delegation"])
    return []


def on_domain_event(*, name: str, **payload) -> None:
    """The subscriber. Never raises: a failure is logged and its savepoint rolled back."""
    if _sends_nothing(name, payload):
        return  # no savepoint for an event that queues no email (most request events)
    try:
        with transaction.atomic():
            email_enqueue_each(_items(name, payload))  # one insert for every notice of the event
    except Exception:  # noqa: BLE001 — see the module docstring
        logger.exception("Notifications for %s were not queued", name)


def on_domain_events_many(*, name: str, batch) -> None:
    """The set-based subscriber (`domain_events.emit_many`): the emails `on_domain_event` would queue
    for each row of `batch` (an `assignments.batches.AssignmentBatch`), written with one bulk insert.
    Recipients are resolved once per policy; assignees come from the batch's principals. Never
    raises, like `on_domain_event`."""
    try:
        with transaction.atomic():
            resolver = Resolver(batch.at)
            resolver.prime_assignees(batch.principals.values())
            principals, roles, scopes = batch.principals, batch.roles, batch.scopes
            # Every policy and admin list of the batch in a few queries, not two per (role, scope).
            resolver.prime_policies({(roles[row.role_id], scopes[row.scope_id]) for row in batch.rows
                                     if not _is_silent(name, row)})
            items: list[Item] = []
            for row in batch.rows:
                if not _is_silent(name, row):
                    principal = principals[row.principal_id]
                    items += _assignment_items(name, row, None, principal_label=principal.display_name,
                                               principal_kind=principal.kind, role=roles[row.role_id],
                                               scope=scopes[row.scope_id], resolver=resolver)
            email_enqueue_many(items)
    except Exception:  # noqa: BLE001 — see the module docstring
        logger.exception("Notifications for %s (%d rows) were not queued", name, len(batch.rows))


def reminder_items(assignments, *, days: int, now: datetime, resolver: Resolver) -> list[Item]:
    """Expiring-soon notices (14 days, 1 day) for assignments with principal/role/scope loaded."""
    items = []
    for assignment in assignments:
        ctx = assignment_context(assignment, principal_label=str(assignment.principal), role=assignment.role,
                                 scope=assignment.scope)
        ctx["days"] = max(1, math.ceil((assignment.end_at - now) / timedelta(days=1)))
        recipients = resolver.recipients(row=matrix_row_for(assignment), columns=("admins", "assignee"),
                                         role=assignment.role, scope=assignment.scope,
                                         principal_id=assignment.principal_id)
        key = f"expiring{days}d:{assignment.pk}:{assignment.end_at.isoformat()}"
        items += _for_the_assignee("expiring", recipients, ctx, assignment, principal_kind=assignment.principal.kind,
                                   resolver=resolver, request_id=None, template="email/expiring", key=key)
    return items


def digest_recipients(at: datetime | None = None) -> list[str]:
    return holders_emails(role_slugs=DIGEST_ROLES, scope=assignment_selectors.scope_root(), at=at)
