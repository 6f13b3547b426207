"""The request catalogue: a person asks for eligibility for roles at scopes they do not hold, several at
once (one `Request` per item, in a `RequestBatch`), with an end date within the role's policy. The role's
administrators decide each item on its own through the request pipeline (`approvals.services`
request_approve / request_deny; the action is one of `approvals.selectors.ADMIN_APPROVED_ACTIONS`), and
the approved item is carried out by `eligibility_request_provision` (registered with the pipeline's
hooks) through the assignments writer, which checks every rule again.

Race safety: the requester's principal row is locked before the open requests are read, and a partial
unique index allows one open eligibility request per person, role and scope.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.services import request_approve, request_deny
from assignments import rules as assignment_rules
from assignments import selectors as assignment_selectors
from assignments.access import access_find_eligibility
from assignments.models import Assignment, Principal, Request, RoleDefinition, Scope, User
from assignments.services import assignment_create
from audit.services import audit_event_record
from core import domain_events
from core.actors import Actor, as_actor
from core.errors import DomainError, FieldErrors, conflict, forbidden, invalid, not_found
from core.timezones import local_text

from .models import RequestBatch, RequestBatchItem

MAX_ITEMS = 20
ACTION = Request.Action.SELF_REQUEST_ELIGIBILITY


@dataclass(frozen=True)
class Item:
    role: RoleDefinition
    scope: Scope


def _item_check(*, principal: Principal, item: Item, end_at: datetime, now: datetime) -> None:
    """The rules of one item that need no lock (run again at approval by the assignments writer)."""
    role, scope = item.role, item.scope
    assignment_rules.check_role_fits_scope(role=role, scope=scope)
    assignment_rules.check_principal_can_hold(principal=principal, role=role, scope=scope,
                                              kind=Assignment.Kind.ELIGIBLE, end_at=end_at)
    setting = assignment_selectors.role_setting_effective(role=role, scope=scope)
    assignment_rules.check_policy_expiration(setting=setting, kind=Assignment.Kind.ELIGIBLE, start_at=now,
                                             end_at=end_at)
    if access_find_eligibility(principal=principal, role=role, scope=scope, at=now) is not None:
        raise conflict(f"You are already eligible for {role.name} at {scope.path}.")


def _label(item: Item) -> str:
    return f"{item.role.name} at {item.scope.path}"


def eligibility_request_many(*, actor: Actor | User, items: list[Item], end_at: datetime | None,
                             justification: str) -> RequestBatch:
    """Ask for eligibility for each (role, scope) of `items` until `end_at`: one pending request per item
    in one batch, all or none. Every mistake is reported at once, each on `items` with the item it
    concerns ("Item 2: …"). Another open request for an item, or a second identical submission racing
    this one, is a conflict."""
    if actor is None or not (isinstance(actor, Actor) or getattr(actor, "is_authenticated", False)):
        raise forbidden("Sign in first.")
    actor = as_actor(actor)
    if not actor.is_person:
        raise forbidden("A service principal cannot request eligibility: that is for people.")
    justification = (justification or "").strip()
    now = timezone.now()
    found = FieldErrors()
    if not items:
        found.add("items", "Choose at least one role and scope.")
    if len(items) > MAX_ITEMS:
        found.add("items", f"Ask for at most {MAX_ITEMS} roles and scopes at once.")
    if end_at is None:
        found.add("end_at", "Give the end of the eligibility you ask for.")
    elif timezone.is_naive(end_at):
        found.add("end_at", "Times must carry a time zone.")
    if not justification:
        found.add("justification", "Say why you need these roles.")
    found.raise_if_any()
    seen = set()
    me = actor.principal
    for number, item in enumerate(items, start=1):
        key = (item.role.pk, item.scope.pk)
        if key in seen:
            found.add("items", f"Item {number}: {_label(item)} is asked twice.")
            continue
        seen.add(key)
        try:
            _item_check(principal=me, item=item, end_at=end_at, now=now)
        except DomainError as error:
            if error.code == "forbidden":
                raise
            found.add("items", f"Item {number} ({_label(item)}): {error.message}")
    found.raise_if_any()
    try:
        with transaction.atomic():
            # Serialise one person's catalogue requests: a second identical submission waits here and
            # then sees the first one's requests below.
            Principal.objects.select_for_update().filter(pk=me.pk).first()
            batch = RequestBatch.objects.create(requested_by=actor.user, justification=justification, created_at=now)
            for position, item in enumerate(items):
                if Request.objects.filter(action=ACTION, principal=me, role=item.role, scope=item.scope,
                                          status__in=Request.OPEN_STATUSES).exists():
                    raise conflict(f"Your request for {_label(item)} is already waiting for a decision.")
                setting = assignment_selectors.role_setting_effective(role=item.role, scope=item.scope)
                request = Request.objects.create(
                    action=ACTION, status=Request.Status.PENDING_APPROVAL, requested_by=actor.user, principal=me,
                    role=item.role, scope=item.scope, kind=Assignment.Kind.ELIGIBLE, end_at=end_at,
                    justification=justification, approvals_required=1,
                    approval_deadline=now + timedelta(minutes=setting.approval_window_minutes), created_at=now,
                    status_message=f"Eligibility until {local_text(end_at)}, decided by the role's administrators.")
                RequestBatchItem.objects.create(batch=batch, request=request, position=position)
                audit_event_record(action="request.self_eligibility", actor=actor, target=request, principal=me,
                                   role=item.role, scope=item.scope, justification=justification,
                                   correlation_id=request.pk,
                                   after={"batch": str(batch.pk), "end_at": end_at, "scope": item.scope.path})
                domain_events.emit("request.created", request=request, actor=actor.user)
    except IntegrityError:
        # The partial unique index caught what the lock let through (another writer path): one wins.
        raise conflict("One of these requests is already waiting for a decision.")
    return batch


def eligibility_request_provision(*, request: Request, actor: Actor, now: datetime) -> None:
    """Carry out an approved eligibility request: the assignments writer makes the eligible assignment
    (checking the approver's authority, the policy's expiration and the principal again); the request
    then points at it and is provisioned."""
    if request.end_at is not None and request.end_at - now < timedelta(minutes=5):
        raise invalid("The requested end has passed while the request waited.")
    assignment = assignment_create(actor=actor, principal=request.principal, role=request.role, scope=request.scope,
                                   kind=Assignment.Kind.ELIGIBLE, end_at=request.end_at,
                                   justification=request.justification)
    Request.objects.filter(pk=request.pk).update(status=Request.Status.PROVISIONED, provisioned_at=now, updated_at=now,
                                                 assignment=assignment)
    request.status, request.provisioned_at, request.assignment = Request.Status.PROVISIONED, now, assignment


def eligibility_request_needs_mfa(request) -> bool:
    """Approving an eligibility request for a privileged role is a privileged administrative change."""
    return request.action == ACTION and assignment_rules.assignment_is_privileged(role=request.role,
                                                                                scope=request.scope)


@dataclass(frozen=True)
class ItemOutcome:
    request_id: object
    outcome: str  # approved | recorded | denied | failed | refused
    message: str


def batch_item_decide(*, actor: Actor | User, batch: RequestBatch | str, request_id, approve: bool,
                      comment: str = "") -> ItemOutcome:
    """Decide one item of a batch through the pipeline (its own rules, transaction and audit event)."""
    batch_id = getattr(batch, "pk", batch)
    item = RequestBatchItem.objects.select_related("request").filter(batch_id=batch_id, request_id=request_id).first()
    if item is None:
        raise not_found("That request is not part of this batch.")
    if approve:
        done = request_approve(actor=actor, request=item.request, comment=comment)
    else:
        done = request_deny(actor=actor, request=item.request, comment=comment)
    if done.status == Request.Status.PENDING_APPROVAL:
        return ItemOutcome(done.pk, "recorded", "Your approval is recorded; more are needed.")
    if done.status == Request.Status.FAILED:
        return ItemOutcome(done.pk, "failed", f"Approved, but it could not be carried out: {done.status_message}")
    return ItemOutcome(done.pk, "approved" if approve else "denied", done.get_status_display())
