"""The self-service request pipeline: activate, approve / deny, cancel, deactivate, extend, renew,
and the time-out of requests nobody decided.

Every transition runs in one transaction: lock the request (or the assignment) → guarded conditional
update on its status → rules → writes → audit event → domain events. Doing a transition twice, or
racing it, is safe: only the caller whose guarded update changed a row acts; the others get a
`DomainError` (conflict) saying what happened instead.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

from assignments import guards, rules
from assignments import selectors as assignment_selectors
from assignments.access import access_find_eligibility
from assignments.conditions import check_activation_conditions
from assignments.models import ApprovalStage, Assignment, RoleSetting, Scope, ScopeClosure, User
from assignments.services import (
    assignment_activate,
    assignment_activation_window,
    assignment_deactivate,  # noqa: F401  (the holder's deactivation: a transition of the assignments app)
    assignment_extend,
    assignment_extend_validate,
    assignment_lock_eligibility,
    assignment_lock_memberships,
    assignment_renew,
    assignment_renew_validate,
    audited_refusal,
)
from audit.models import AuditEvent
from audit.services import audit_event_record
from core import domain_events
from core.actors import Actor, as_actor
from core.errors import DomainError, conflict, forbidden, invalid, not_found
from core.expressions import MinutesAsDuration
from core.timezones import local_text

from . import hooks, selectors
from .models import ApprovalDecision, ApprovalDelegation, Request

# --- helpers ----------------------------------------------------------------------------------------


def _ticket(request: Request) -> str:
    return f"{request.ticket_system} {request.ticket_number}".strip()


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _fmt(at: datetime | None) -> str:
    return "never" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _audit_request(*, action: str, actor, request: Request, message: str = "", justification: str = "",
                   outcome: str = AuditEvent.Outcome.SUCCESS, before: dict | None = None,
                   after: dict | None = None) -> None:
    audit_event_record(
        action=action, actor=actor, outcome=outcome, target=request, principal=request.principal, role=request.role,
        scope=request.scope, justification=justification, ticket=_ticket(request), message=message,
        before=before, after=after, correlation_id=request.pk,
    )


def _request_snapshot(request: Request) -> dict:
    return {
        "id": request.pk, "action": request.action, "status": request.status, "scope": request.scope.path,
        "start_at": request.start_at, "end_at": request.end_at, "duration_minutes": request.duration_minutes,
        "approvals_required": request.approvals_required, "approval_deadline": request.approval_deadline,
        "assignment": request.assignment_id,
    }


def _lock_request(request: Request) -> Request:
    locked = (Request.objects.select_for_update().filter(pk=request.pk).first())
    if locked is None:
        raise not_found("That request does not exist.")
    # Related rows read after the lock (select_related cannot join nullable FKs under FOR UPDATE on PostgreSQL).
    locked.principal, locked.role, locked.scope = request.principal, request.role, request.scope
    return locked


def _refuse_closed(request: Request, now: datetime) -> None:
    if request.status != Request.Status.PENDING_APPROVAL:
        raise conflict(f"This request is no longer pending: it is {request.get_status_display().lower()}.")
    deadline = request.approval_deadline
    if deadline is not None and deadline <= now:
        stage = request.approval_stage if request.approval_stage_id else None
        if stage is not None and stage.escalate_on_timeout and not request.stage_escalated and \
                deadline + timedelta(minutes=stage.timeout_minutes) > now:
            return  # its stage timed out and went to the fallback approvers (the sweep may not have run yet)
        raise conflict(f"This request timed out at {local_text(deadline)}: nobody can decide it now.")


def _set_status(request: Request, *, status: str, now: datetime, **fields) -> None:
    """Guarded transition out of pending approval; a conflict if someone else moved it first."""
    changed = Request.objects.filter(pk=request.pk, status=Request.Status.PENDING_APPROVAL).update(
        status=status, decided_at=now, updated_at=now, **fields
    )
    if changed != 1:
        raise conflict("Someone else decided this request a moment ago; reload to see the outcome.")
    request.status = status
    request.decided_at = now
    for name, value in fields.items():
        setattr(request, name, value)


def _is_ancestor_or_self(*, ancestor: Scope, scope: Scope) -> bool:
    return ScopeClosure.objects.filter(ancestor=ancestor, descendant=scope).exists()


def _resolve_scope(scope) -> Scope | None:
    """Accept a Scope, a scope path or a scope id (the API and forms pass different shapes)."""
    if scope is None or isinstance(scope, Scope):
        return scope
    found = Scope.objects.filter(path=scope).first() if isinstance(scope, str) else \
        Scope.objects.filter(pk=scope).first() if isinstance(scope, int) else None
    if found is None:
        raise invalid(f"There is no scope {scope}.", field="scope")
    return found


def _pk(obj):
    return obj if isinstance(obj, int) else getattr(obj, "pk", None)


def _active_or_waiting(*, principal, role, scope: Scope, eligible: Assignment,
                       now: datetime) -> tuple[bool, datetime | None, bool]:
    """(already active, the end of that activation, an activation of `eligible` already open) in one
    query: what refuses a second activation."""
    held = (Assignment.objects.filter(principal=principal, role=role, scope=scope, kind=Assignment.Kind.ACTIVE,
                                      status=Assignment.Status.LIVE)
            .filter(Q(end_at__isnull=True) | Q(end_at__gt=now)))
    waiting = Request.objects.filter(eligible_assignment=eligible, action=Request.Action.SELF_ACTIVATE,
                                     status__in=Request.OPEN_STATUSES)
    return (Assignment.objects.filter(pk=eligible.pk)
            .annotate(held=Exists(held), held_end=Subquery(held.order_by("end_at").values("end_at")[:1]),
                      waiting=Exists(waiting))
            .values_list("held", "held_end", "waiting").get())


_PROVISIONING = Actor.system("request-provisioning")
_TIME_OUT = Actor.system("request-time-out")


# --- activate -----------------------------------------------------------------------------------------


@audited_refusal("request.self_activate")
def request_self_activate(*, actor: Actor | User, eligible_assignment: Assignment, scope: Scope | None = None,
                          duration_minutes: int, start_at: datetime | None = None, justification: str = "",
                          ticket_system: str = "", ticket_number: str = "", mfa_verified_at: datetime | None = None,
                          client_ip: str | None = None, approval_waiver: hooks.WaiverSource | None = None) -> Request:
    """Activate an eligible assignment (the actor's own, or a group's the actor is a member of), at its
    scope or a narrower one, now or from `start_at`, for `duration_minutes` (≤ the policy's maximum,
    and never past the end of the eligibility). Provisioned at once, or pending approval when the
    policy requires it. The checks that need no query come first and give quick errors; the rest run
    under the eligibility's lock (taken before the access check, which runs once, there), so an
    administrator removing it at the same moment cannot leave a live activation of a removed
    eligibility. The registered checks of `hooks` (justification and ticket rules) run before the
    transaction; where approval is required, a waiver (`approval_waiver`, then the registered ones:
    auto-approval rules) may approve it under the lock, after the MFA and justification checks."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise forbidden("Sign in to activate a role.")
    actor = as_actor(actor).with_mfa_verified_at(mfa_verified_at)
    # A service principal (a pipeline) may ask where the policy allows it; a person always approves.
    machine = actor.is_service_principal
    if not actor.is_person and not machine:
        raise forbidden("Only people and service principals activate roles.")
    now = timezone.now()
    justification, ticket_system, ticket_number = (justification or "").strip(), (ticket_system or "").strip(), (
        ticket_number or "").strip()
    try:
        duration_minutes = int(duration_minutes)
    except (TypeError, ValueError):
        raise invalid("Give the duration in minutes.", field="duration_minutes")
    # The caller's instance when it gives one (the API has just loaded it): the checks before the
    # transaction are the quick ones; the eligibility is locked and read again inside it.
    eligible = eligible_assignment if isinstance(eligible_assignment, Assignment) else (
        Assignment.objects.select_related("principal", "role", "scope", "scope__group")
        .filter(pk=_pk(eligible_assignment)).first())
    if eligible is None or eligible.kind != Assignment.Kind.ELIGIBLE:
        raise not_found("No such eligible assignment.")
    me = actor.principal
    if machine and eligible.principal_id != me.pk:
        raise forbidden("That eligible assignment is not this service principal's.")
    if not machine and eligible.principal_id != me.pk and eligible.principal_id not in selectors.user_group_ids(
            user=actor.user, at=now):
        raise forbidden("That eligible assignment is not yours (nor one of a group you are a member of).")
    role = eligible.role
    scope = _resolve_scope(scope) or eligible.scope
    if eligible.status != Assignment.Status.LIVE or (eligible.end_at is not None and eligible.end_at <= now):
        raise conflict(f"Your eligibility for {role.name} at {eligible.scope.path} has ended.")
    if scope.pk != eligible.scope_id and not _is_ancestor_or_self(ancestor=eligible.scope, scope=scope):
        raise invalid(f"You are eligible for {role.name} at {eligible.scope.path}; you can activate it there or at "
                      f"a scope below it, not at {scope.path}.", field="scope")
    rules.check_role_fits_scope(role=role, scope=scope)
    start = rules.normalise_start(start_at=start_at, now=now)
    if eligible.start_at > start:
        raise invalid(f"Your eligibility for {role.name} starts at {local_text(eligible.start_at)}; "
                      "pick a later start.",
                      field="start_at")
    hooks.activation_checks_run(hooks.ActivationDraft(
        actor=actor, eligible=eligible, role=role, scope=scope, setting=None, start_at=start, end_at=None,
        duration_minutes=duration_minutes, justification=justification, ticket_system=ticket_system,
        ticket_number=ticket_number, client_ip=client_ip, now=now))
    with transaction.atomic():
        # Under the eligibility's lock: still live? (A removal that committed since the check above
        # is seen here; one that comes later waits for this transaction and ends the activation.)
        eligible = assignment_lock_eligibility(eligible=eligible, now=now)
        # Then the membership a group's eligibility is used through, so that the check below reads it
        # under its lock (a removal racing this one waits, then ends what this activated).
        membership_end = assignment_lock_memberships(principal=me, eligible=eligible)
        checked_at = start
        if access_find_eligibility(principal=me, role=role, scope=scope, at=checked_at) is None:
            raise forbidden(f"You are not eligible for {role.name} at {scope.path} at {local_text(start)}.")
        setting = assignment_selectors.role_setting_effective(role=role, scope=scope)
        maximum = setting.max_activation_minutes
        minimum = _minutes(settings.PIM_MIN_ASSIGNMENT_DURATION)
        if not minimum <= duration_minutes <= maximum:
            raise invalid(f"The duration must be between {minimum} minutes and {maximum // 60} hours"
                          f"{'' if maximum % 60 == 0 else f' {maximum % 60} minutes'} (the policy's maximum for "
                          f"{role.name}).", field="duration_minutes")
        start, end, capped = assignment_activation_window(eligible=eligible, start_at=start,
                                                          duration_minutes=duration_minutes,
                                                          membership_end=membership_end)
        rules.check_duration(start_at=start, end_at=end)
        exempt = bool(not machine and actor.user.is_emergency_access)  # break-glass: no MFA/approval requirements
        if machine and not setting.allow_service_principal_activation:
            raise forbidden(f"The policy of {role.name} at {scope.path} does not allow service principals to "
                            f"request activation.")
        if setting.require_justification_on_activation and not justification:
            raise invalid(f"The policy of {role.name} requires a justification.", field="justification")
        if setting.require_ticket_on_activation and not (ticket_system and ticket_number):
            raise invalid(f"The policy of {role.name} requires a ticket: give the ticket system and number.",
                          field="ticket_number")
        # A service principal cannot verify with MFA: a person's approval (always required) stands in for it.
        if setting.require_mfa_on_activation and not exempt and not machine:
            rules.check_mfa_fresh(actor=actor, what=f"activate {role.name}")
        check_activation_conditions(trusted_networks=setting.trusted_networks,
                                    allowed_time_windows=setting.allowed_time_windows, client_ip=client_ip, at=now,
                                    time_zone=setting.allowed_time_windows_zone)
        needs_approval = (setting.require_approval or machine) and not exempt
        message = (f"Ends at {_fmt(end)}, when your {'eligibility' if end == eligible.end_at else 'group membership'} "
                   f"ends." if capped else "")
        waiver = hooks.activation_waiver_find(hooks.ActivationDraft(
            actor=actor, eligible=eligible, role=role, scope=scope, setting=setting, start_at=start, end_at=end,
            duration_minutes=duration_minutes, justification=justification, ticket_system=ticket_system,
            ticket_number=ticket_number, client_ip=client_ip, now=now), approval_waiver) if needs_approval else None
        if waiver is not None:
            needs_approval = False
            message = f"{waiver.message} {message}".strip()
        held, held_end, waiting = _active_or_waiting(principal=me, role=role, scope=scope, eligible=eligible,
                                                     now=now)
        extension_of = None
        if held and start_at is None and held_end is not None and end - held_end >= _SAME_DATE:
            # An activation of this eligibility already covers the request: extend it within the policy
            # instead of refusing (as Google JIT does), audited as an extension; where approval is
            # required, the request waits for it (its stages) and extends the activation once approved.
            if not needs_approval:
                return _extend_covering(actor=actor, eligible=eligible, scope=scope, end=end, now=now,
                                        duration_minutes=duration_minutes, justification=justification,
                                        ticket_system=ticket_system, ticket_number=ticket_number,
                                        client_ip=client_ip, waiver=waiver)
            extension_of = _covering_activation(eligible=eligible, scope=scope, now=now)
            if extension_of is not None and not waiting:
                message = (f"Extends your active {role.name} (now until {_fmt(extension_of.end_at)}) once "
                           f"approved: {duration_minutes} minutes from the approval, within the policy. "
                           f"{message}").strip()
        if held and extension_of is None:
            until = "permanently" if held_end is None else f"until {local_text(held_end)}"
            raise conflict(f"{role.name} at {scope.path} is already active for you ({until}). "
                           f"Extend it instead of activating it again.")
        if waiting:
            raise conflict(f"An activation of {role.name} is already waiting for approval; cancel it or wait.")
        guards.guards_run(guards.ACTIVATION, principal=me, role=role, scope=scope, start_at=start, end_at=end,
                          actor=actor)  # separation of duties, before anything is asked or activated
        # No savepoint for the one-open-request constraint: it cannot fire here. Another activation
        # of this eligibility waits for the eligibility's lock above, and then sees this request in
        # the check just before (a request is only ever created under that lock).
        request = Request.objects.create(
            action=Request.Action.SELF_ACTIVATE,
            status=Request.Status.PENDING_APPROVAL if needs_approval else Request.Status.APPROVED,
            requested_by=actor.user, principal=me, role=role, scope=scope, kind=Assignment.Kind.ACTIVE,
            eligible_assignment=eligible, assignment=extension_of,  # set while pending: the activation it extends
            start_at=start_at and start, end_at=None if needs_approval else end,
            duration_minutes=duration_minutes, justification=justification, ticket_system=ticket_system,
            ticket_number=ticket_number, client_ip=client_ip or None, status_message=message, created_at=now,
            **(_first_stage_fields(setting=setting, now=now) if needs_approval else {"approvals_required": 0}),
        )
        _audit_request(action="request.self_activate", actor=actor, request=request, justification=justification,
                       message=message or ("Waiting for approval." if needs_approval else ""),
                       after=_request_snapshot(request))
        if waiver is not None:
            waiver.record(request)
        # Known here, so that whoever shows the request (the API's "approved_without_approvers") need not
        # query for a waiver that was never written.
        request.approval_waived = waiver is not None
        domain_events.emit("request.created", request=request, actor=actor.user)
        if not needs_approval:
            # The eligibility was checked just above, under this lock.
            assignment_activate(request=request, now=now, locked_eligible=eligible, policy=setting,
                                eligibility_checked_at=checked_at)
    return request


_EXTENSION = Actor.system("activation-extends-covering")


def _covering_activation(*, eligible: Assignment, scope: Scope, now: datetime) -> Assignment | None:
    """The live activation of `eligible` at `scope` that lasts longest (an administrator's active
    assignment is not one: it is never extended by an activation)."""
    return (Assignment.objects.filter(activated_from=eligible, scope=scope, kind=Assignment.Kind.ACTIVE,
                                      status=Assignment.Status.LIVE, end_at__gt=now)
            .select_related("principal", "role", "scope").order_by("-end_at").first())


def _extend_approved(*, request: Request, actor: Actor, now: datetime) -> None:
    """Carry out an approved activation that was filed while an activation of its eligibility covered it
    (`request.assignment`, set while it waited): extend that activation to the requested duration from
    this approval, within the policy's maximum and the eligibility (the assignments writer's rules, under
    its locks). If the activation has ended meanwhile, the request activates afresh instead."""
    covering = Assignment.objects.filter(pk=request.assignment_id, status=Assignment.Status.LIVE,
                                         end_at__gt=now).select_related("principal", "role", "scope").first()
    if covering is None:
        Request.objects.filter(pk=request.pk).update(assignment=None)
        request.assignment_id = None
        request.assignment = None
        assignment_activate(request=request, now=now, approved_by=actor)
        return
    end = now + timedelta(minutes=request.duration_minutes)
    if end - covering.end_at < _SAME_DATE:
        _fail(request, message=f"Your active {request.role.name} already lasts until {_fmt(covering.end_at)}: "
                               "nothing to extend.", now=now)
        return
    assignment_extend(actor=_EXTENSION, assignment=covering, end_at=end, justification=request.justification,
                      request=request, message=f"Extended on the approval of {actor} (an activation it covered).")


def _extend_covering(*, actor: Actor, eligible: Assignment, scope: Scope, end: datetime, now: datetime,
                     duration_minutes: int, justification: str, ticket_system: str, ticket_number: str,
                     client_ip: str | None, waiver: hooks.Waiver | None) -> Request:
    """The activation request becomes the extension of the live activation of `eligible` at `scope`, to
    `end` (the end of the new window, never past the eligibility or the group membership), under the
    locks the caller holds. An active assignment that is not an activation of this eligibility (an
    administrator's) is not extended here: that stays a conflict."""
    covering = _covering_activation(eligible=eligible, scope=scope, now=now)
    if covering is None:
        raise conflict(f"{eligible.role.name} at {scope.path} is already active for you (assigned by an "
                       "administrator): it is not extended by an activation.")
    message = f"Extends your active {eligible.role.name} from {_fmt(covering.end_at)} to {_fmt(end)}."
    if waiver is not None:  # approval was required and a rule gave it
        message = f"{waiver.message} {message}"
    request = Request.objects.create(
        action=Request.Action.SELF_ACTIVATE, status=Request.Status.APPROVED, requested_by=actor.user,
        principal=covering.principal, role=covering.role, scope=scope, kind=Assignment.Kind.ACTIVE,
        eligible_assignment=eligible, assignment=covering, end_at=end, duration_minutes=duration_minutes,
        justification=justification, ticket_system=ticket_system, ticket_number=ticket_number,
        client_ip=client_ip or None, status_message=message, created_at=now)
    _audit_request(action="request.self_activate", actor=actor, request=request, justification=justification,
                   message=message, after=_request_snapshot(request))
    if waiver is not None:
        waiver.record(request)
    request.approval_waived = waiver is not None  # as in request_self_activate
    domain_events.emit("request.created", request=request, actor=actor.user)
    assignment_extend(actor=_EXTENSION, assignment=covering, end_at=end, justification=justification,
                      request=request, message="Extended by a new activation of its holder (it covered the request).")
    return request


# --- stages --------------------------------------------------------------------------------------------


def _first_stage_fields(*, setting: RoleSetting, now: datetime) -> dict:
    """Where a request that needs approval starts waiting: the setting's first stage when it has stages,
    else its own approvals needed and window (one stage, `approval_stage` null)."""
    first = selectors.stage_first(setting=setting)
    if first is None:
        return {"approvals_required": setting.approvals_required,
                "approval_deadline": now + timedelta(minutes=setting.approval_window_minutes)}
    return {"approval_stage": first, "approvals_required": first.approvals_required, "stage_started_at": now,
            "approval_deadline": now + timedelta(minutes=first.timeout_minutes)}


def _stage_needed(*, request: Request, stage: ApprovalStage | None) -> int:
    """Approvals the request's current stage needs, under the stage's rules now."""
    if stage is None:
        return max(request.approvals_required, 1)
    return stage.fallback_approvals_required if request.stage_escalated else stage.approvals_required


def _stage_approvals(*, request: Request, stage: ApprovalStage | None) -> int:
    return request.decisions.filter(decision=ApprovalDecision.Decision.APPROVE,
                                    stage_id=None if stage is None else stage.pk).count()


def _advance_stage(*, request: Request, stage: ApprovalStage, actor: Actor, approvals: int, now: datetime) -> bool:
    """Stage `stage` has its quorum: move the request to the next stage (guarded update, audited, the
    stage's approvers and the next stage's told) and return True; False when it was the last stage."""
    following = selectors.stage_after(stage=stage)
    if following is None:
        return False
    deadline = now + timedelta(minutes=following.timeout_minutes)
    was_escalated = request.stage_escalated
    changed = Request.objects.filter(pk=request.pk, status=Request.Status.PENDING_APPROVAL,
                                     approval_stage=stage).update(
        approval_stage=following, stage_escalated=False, stage_started_at=now, approvers_reminded_at=None,
        approvals_required=following.approvals_required, approval_deadline=deadline, updated_at=now)
    if changed != 1:
        raise conflict("Someone else decided this request a moment ago; reload to see the outcome.")
    request.approval_stage, request.stage_escalated, request.stage_started_at = following, False, now
    request.approvals_required, request.approval_deadline, request.approvers_reminded_at = (
        following.approvals_required, deadline, None)
    needed = stage.fallback_approvals_required if was_escalated else stage.approvals_required
    message = (f"{stage.label} approved ({approvals} of {needed}); waiting at "
               f"{following.label} ({following.approvals_required} approval(s) needed) until {_fmt(deadline)}.")
    _audit_request(action="request.stage_advance", actor=actor, request=request, message=message,
                   before={"stage": stage.position}, after={"stage": following.position,
                                                            "approval_deadline": deadline})
    domain_events.emit("request.stage_decided", request=request, actor=actor.user, stage=stage,
                       was_escalated=was_escalated)
    return True


# --- approve / deny / cancel --------------------------------------------------------------------------


def _load_for_decision(request: Request) -> Request:
    fresh = (Request.objects.select_related("principal", "role", "scope", "requested_by")
             .filter(pk=getattr(request, "pk", None)).first())
    if fresh is None:
        raise not_found("That request does not exist.")
    return fresh


def _decider(actor) -> Actor:
    """Decisions are a person's: never the system's, never a service principal's."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise forbidden("Sign in to decide requests.")
    actor = as_actor(actor)
    if not actor.is_person:
        raise forbidden("A service principal cannot decide requests: that is for people.")
    return actor


def _check_decider(*, actor: Actor, request: Request, now: datetime) -> ApprovalDelegation | None:
    """May `actor` decide `request` now, and for whom: None in their own right, else the delegation
    they decide through. Run once early (quick refusals) and again under the request's lock
    (`_check_decider_locked`): the stage may have moved meanwhile."""
    _refuse_closed(request, now)
    if request.requested_by_id == actor.user.pk or request.principal_id == actor.principal.pk:
        raise forbidden("You cannot approve or deny your own request.")
    may, delegation = selectors.approver_decides_as(user=actor.user, request=request, now=now)
    if not may:
        # The approver check counts pending requests only: one decided since `request` was read (another
        # approver was faster) is refused as decided, not as "you are not an approver".
        request.status = Request.objects.filter(pk=request.pk).values_list("status", flat=True).first()
        _refuse_closed(request, now)
        stage = " at its current stage" if request.approval_stage_id else ""
        if request.approval_stage_id and not request.stage_escalated and request.approval_deadline <= now:
            raise forbidden(f"{request.approval_stage.label} timed out at {local_text(request.approval_deadline)} "
                            "and went to its fallback approvers: you cannot decide it now.")
        raise forbidden(f"You are not an approver of {request.role.name} at {request.scope.path}{stage} "
                        f"(or no longer are): you cannot decide this request.")
    return delegation


def _check_decider_locked(*, actor: Actor, request: Request, now: datetime) -> ApprovalDelegation | None:
    """`_check_decider` under the request's lock, then the delegation's lock (always in that order; a
    revocation locks only the delegation): a delegation revoked before this point refuses the decision,
    one revoked after waits for it."""
    delegation = _check_decider(actor=actor, request=request, now=now)
    if delegation is None:
        return None
    locked = (ApprovalDelegation.objects.select_for_update()
              .filter(pk=delegation.pk, revoked_at__isnull=True, starts_at__lte=now, ends_at__gt=now).first())
    if locked is None:
        raise forbidden(f"{delegation.delegator}'s delegation to you was revoked or has ended: you cannot decide "
                        f"this request for them.")
    locked.delegator = delegation.delegator
    return locked


def _record_decision(*, actor: Actor, request: Request, decision: str, comment: str, now: datetime,
                     delegation: ApprovalDelegation | None = None) -> ApprovalDecision:
    stage = request.approval_stage if request.approval_stage_id else None
    on_behalf_of = delegation.delegator if delegation is not None else None
    try:
        with transaction.atomic():
            return ApprovalDecision.objects.create(
                request=request, approver=actor.user, decision=decision, comment=comment, decided_at=now,
                stage=stage, stage_position=stage.position if stage is not None else None,
                on_behalf_of=on_behalf_of)
    except IntegrityError:
        if on_behalf_of is not None:
            raise conflict(f"You, or {on_behalf_of} themselves, have already decided this request.")
        raise conflict("You have already decided this request (a person decides one request once, "
                       "whatever its stages).")


DATED_ACTIONS = (Request.Action.SELF_EXTEND, Request.Action.SELF_RENEW)
# A date typed in a page has minute precision: within a minute of the requested value is "as requested".
_SAME_DATE = timedelta(minutes=1)


def _until(at: datetime | None) -> str:
    return "permanently" if at is None else f"until {_fmt(at)}"


def _differs(given: datetime | None, current: datetime | None) -> bool:
    if given is None:
        return False
    return current is None or abs(given - current) >= _SAME_DATE


def _approved_dates(*, request: Request, start_at: datetime | None, end_at: datetime | None,
                    now: datetime) -> dict:
    """The start and end an approver sets on an extension or a renewal (None: as requested), checked
    with the assignments writer's own rules (`assignment_extend_validate` / `assignment_renew_validate`)
    under the lock of the assignment (and of the eligibility an activation comes from), in the caller's
    transaction. Returns the fields of the request that change (empty when nothing does)."""
    if start_at is None and end_at is None:
        return {}
    if request.action not in DATED_ACTIONS:
        raise invalid("Only the start and end of an extension or a renewal can be changed on approval.",
                      field="end_at")
    for value, field in ((start_at, "start_at"), (end_at, "end_at")):
        if value is not None and timezone.is_naive(value):
            raise invalid("Times must carry a time zone.", field=field)
    target = (Assignment.objects.select_for_update(of=("self",)).select_related("principal", "role", "scope")
              .filter(pk=request.assignment_id).first())
    if target is None:
        raise conflict("The assignment of this request no longer exists.")
    end = end_at if _differs(end_at, request.end_at) else request.end_at
    if request.action == Request.Action.SELF_EXTEND:
        if target.status != Assignment.Status.LIVE:
            raise conflict("The assignment ended while the request waited for approval.")
        start = start_at if _differs(start_at, target.start_at) else None
        eligible = (Assignment.objects.select_for_update().filter(pk=target.activated_from_id).first()
                    if target.activated_from_id else None)
        end = assignment_extend_validate(assignment=target, end_at=end, now=now, eligible=eligible, start_at=start)
        approved = {"start_at": target.start_at if start is None else max(start, now), "end_at": end}
    else:
        start = start_at if _differs(start_at, request.start_at or now) else request.start_at
        begins = assignment_renew_validate(assignment=target, end_at=end, now=now, start_at=start)
        approved = {"start_at": begins if begins > now else None, "end_at": end}
    return {name: value for name, value in approved.items() if value != getattr(request, name)}


def request_approval_needs_mfa(*, request: Request) -> bool:
    """Does approving `request` make an active assignment under a policy that requires MFA on active
    assignment (the renewal of an active assignment)? Then the approver needs a fresh verification."""
    if hooks.approval_needs_mfa(request):  # an action of another app (a privileged eligibility request)
        return True
    if request.action != Request.Action.SELF_RENEW or request.kind != Assignment.Kind.ACTIVE:
        return False
    setting = assignment_selectors.role_setting_effective(role=request.role, scope=request.scope)
    return setting.require_mfa_on_active_assignment


@audited_refusal("request.approve")
def request_approve(*, actor: Actor | User, request: Request, comment: str = "",
                    start_at: datetime | None = None, end_at: datetime | None = None) -> Request:
    """Record an approval; the last one needed (N of M) approves the request and provisions it. The
    activation's duration counts from this final approval (or from the requested start if later).

    On an extension or a renewal the approver may set another start and end (`start_at`, `end_at`;
    None keeps what was asked): they are checked under the lock with the assignments writer's rules,
    an invalid one refuses the approval (nothing is recorded), and the audit event keeps both the
    requested and the approved values. Where approving makes an active assignment under "require MFA
    on active assignment", the approver's fresh verification is checked before anything is recorded."""
    comment = (comment or "").strip()
    actor = _decider(actor)
    request = _load_for_decision(request)
    now = timezone.now()
    _check_decider(actor=actor, request=request, now=now)
    if request_approval_needs_mfa(request=request):
        rules.check_mfa_fresh(actor=actor, what=f"approve an active assignment of {request.role.name}"
                              if request.action == Request.Action.SELF_RENEW else
                              f"approve this request for {request.role.name}")
    with transaction.atomic():
        locked = _lock_request(request)
        _escalate_if_due(locked, now=now)
        _refuse_closed(locked, now)
        delegation = _check_decider_locked(actor=actor, request=locked, now=now)
        guards.guards_run(guards.APPROVAL, request=locked, actor=actor)  # separation of duties: the approver
        stage = locked.approval_stage if locked.approval_stage_id else None
        requested = {"start_at": locked.start_at, "end_at": locked.end_at}
        changes = _approved_dates(request=locked, start_at=start_at, end_at=end_at, now=now)
        _record_decision(actor=actor, request=locked, decision=ApprovalDecision.Decision.APPROVE, comment=comment,
                         now=now, delegation=delegation)
        approvals = _stage_approvals(request=locked, stage=stage)
        needed = _stage_needed(request=locked, stage=stage)
        message = f"Approval {approvals} of {needed}" + (f" at {stage.label}." if stage is not None else ".")
        if delegation is not None:
            message += f" For {delegation.delegator} (delegated)."
        if changes:
            for name, value in changes.items():
                setattr(locked, name, value)
            changes["status_message"] = (f"Approved with {'another end' if 'end_at' in changes else 'another start'}"
                                         f": from {_fmt(locked.start_at) if locked.start_at else 'the approval'} "
                                         f"{_until(locked.end_at)} (asked: {_until(requested['end_at'])}).")
            locked.status_message = changes["status_message"]
            Request.objects.filter(pk=locked.pk).update(updated_at=now, **changes)
            message += " " + locked.status_message
        dated = locked.action in DATED_ACTIONS
        _audit_request(action="request.approve", actor=actor, request=locked, justification=comment,
                       message=message, before=requested if dated else None,
                       after={"start_at": locked.start_at, "end_at": locked.end_at} if dated else None)
        if approvals < needed:
            return locked
        if stage is not None and _advance_stage(request=locked, stage=stage, actor=actor, approvals=approvals,
                                                now=now):
            return locked
        _set_status(locked, status=Request.Status.APPROVED, now=now)
        _provision_approved(request=locked, actor=actor, now=now)
        # After provisioning, so that consumers see the outcome: the new end, or why it failed.
        domain_events.emit("request.approved", request=locked, actor=actor.user)
    return locked


def request_pending_note(*, request: Request) -> str:
    """What an approver reads after an approval that did not finish the request: how many more its
    stage needs, or that their stage is approved and the next one waits (read-only helper)."""
    stage = request.approval_stage if request.approval_stage_id else None
    left = request.approvals_required - _stage_approvals(request=request, stage=stage)
    if stage is not None and left == request.approvals_required and stage.position > 1:
        return f"Your approval is recorded: the stage before is approved, and the request now waits at {stage.label}."
    where = f" at {stage.label}" if stage is not None else ""
    return f"Your approval is recorded; {left} more needed{where}."


@dataclass(frozen=True)
class ApprovalOutcome:
    """What became of one request of a batch approval."""

    request_id: object
    label: str
    outcome: str  # approved | recorded (more approvals needed) | failed (approved, not carried out) | refused
    message: str
    found: bool = True  # False for an id that names no request (nothing to link to)

    @property
    def ok(self) -> bool:
        return self.outcome in ("approved", "recorded")


BATCH_LIMIT = 100


def request_approve_many(*, actor: Actor | User, request_ids: list, comment: str = "") -> list[ApprovalOutcome]:
    """Approve a selected set of requests: each through `request_approve` (its own rules, its own
    transaction and audit event; a refusal leaves that request as it was and the others go on), with
    one MFA check for the batch, before anything is decided, when any of them needs it. Returns one
    outcome per requested id, in the order given (duplicates once)."""
    actor = _decider(actor)
    ids = list(dict.fromkeys(request_ids))
    if not ids:
        raise invalid("Select the requests to approve.", field="ids")
    if len(ids) > BATCH_LIMIT:
        raise invalid(f"Approve at most {BATCH_LIMIT} requests at once.", field="ids")
    found = {r.pk: r for r in Request.objects.select_related("principal", "role", "scope", "requested_by")
             .filter(pk__in=ids)}
    decidable = selectors.requests_decidable_by(user=actor.user, requests=list(found.values()))
    if any(request_approval_needs_mfa(request=found[pk]) for pk in decidable):
        rules.check_mfa_fresh(actor=actor, what="approve these requests (one makes an active assignment)")
    outcomes = []
    for pk in ids:
        request = found.get(pk)
        if request is None:
            outcomes.append(ApprovalOutcome(pk, "Unknown request", "refused", "No such request.", found=False))
            continue
        # What a request is about is shown only to who may decide it (or made it).
        visible = pk in decidable or request.requested_by_id == actor.user.pk
        label = (f"{request.principal} · {request.get_action_display()} {request.role.name} at {request.scope.path}"
                 if visible else f"Request {pk}")
        try:
            done = request_approve(actor=actor, request=request, comment=comment)
        except DomainError as error:
            # A conflict (decided or timed out meanwhile) names only the request's status.
            outcomes.append(ApprovalOutcome(pk, label, "refused", error.message if visible or error.code == "conflict"
                                            else "You cannot decide this request: it is not waiting for you."))
            continue
        if done.status == Request.Status.PENDING_APPROVAL:
            outcomes.append(ApprovalOutcome(pk, label, "recorded", request_pending_note(request=done)))
        elif done.status == Request.Status.FAILED:
            outcomes.append(ApprovalOutcome(pk, label, "failed",
                                            f"Approved, but it could not be carried out: {done.status_message}"))
        else:
            outcomes.append(ApprovalOutcome(pk, label, "approved", "Approved."))
    return outcomes


def _fail(request: Request, *, message: str, now: datetime) -> None:
    Request.objects.filter(pk=request.pk).update(status=Request.Status.FAILED, status_message=message, updated_at=now)
    request.status, request.status_message = Request.Status.FAILED, message
    _audit_request(action="request.fail", actor=_PROVISIONING, request=request, message=message,
                   outcome=AuditEvent.Outcome.FAILURE)


def _provision_approved(*, request: Request, actor: Actor, now: datetime) -> None:
    """Carry out an approved request through the assignment transitions, which check every rule
    again now (the policy may have been tightened, the eligibility cut, the target ended while the
    request waited) under their locks. If one refuses, the request fails with its message instead of
    half-applying."""
    try:
        if request.action == Request.Action.SELF_ACTIVATE:
            if request.assignment_id is not None:  # filed while an activation covered it: extend that one
                _extend_approved(request=request, actor=actor, now=now)
                return
            assignment_activate(request=request, now=now, approved_by=actor)
            return
        target = Assignment.objects.select_related("principal", "role", "scope").filter(
            pk=request.assignment_id).first()
        if request.action == Request.Action.SELF_EXTEND:
            if target is None or target.status != Assignment.Status.LIVE or (
                    target.end_at is not None and target.end_at <= now):
                _fail(request, message="The assignment ended while the request waited for approval.", now=now)
                return
            # Only a start the approver moved (of an assignment that has not begun) is passed on.
            moved = request.start_at if request.start_at is not None and request.start_at > now else None
            assignment_extend(actor=actor, assignment=target, end_at=request.end_at, start_at=moved,
                              justification=request.justification, request=request)
            return
        if request.action == Request.Action.SELF_RENEW:
            if target is None:
                _fail(request, message="The assignment to renew no longer exists.", now=now)
                return
            if request.end_at is not None and request.end_at - now < settings.PIM_MIN_ASSIGNMENT_DURATION:
                _fail(request, message="The requested end has passed while the request waited.", now=now)
                return
            assignment_renew(actor=actor, assignment=target, end_at=request.end_at, start_at=request.start_at,
                             justification=request.justification, request=request)
            return
        provision = hooks.approved_action_provisioner(request.action)
        if provision is not None:
            provision(request=request, actor=actor, now=now)
            return
    except DomainError as error:
        _fail(request, message=error.message, now=now)
        return
    _fail(request, message=f"Requests of type {request.get_action_display()} are not approved here.", now=now)


@audited_refusal("request.deny")
def request_deny(*, actor: Actor | User, request: Request, comment: str) -> Request:
    """Deny a pending request, with a reason. Any denial ends the request."""
    comment = (comment or "").strip()
    if not comment:
        raise invalid("Say why you deny this request: the requester sees your reason.", field="comment")
    actor = _decider(actor)
    request = _load_for_decision(request)
    now = timezone.now()
    _check_decider(actor=actor, request=request, now=now)
    with transaction.atomic():
        locked = _lock_request(request)
        _escalate_if_due(locked, now=now)
        _refuse_closed(locked, now)
        delegation = _check_decider_locked(actor=actor, request=locked, now=now)
        _record_decision(actor=actor, request=locked, decision=ApprovalDecision.Decision.DENY, comment=comment,
                         now=now, delegation=delegation)
        who = f"{actor} for {delegation.delegator}" if delegation is not None else f"{actor}"
        at = f" at {locked.approval_stage.label}" if locked.approval_stage_id else ""
        _set_status(locked, status=Request.Status.DENIED, now=now, status_message=f"Denied by {who}{at}: {comment}")
        _audit_request(action="request.deny", actor=actor, request=locked, justification=comment,
                       message=f"Denied{at}" + (f" for {delegation.delegator} (delegated)." if delegation else "."))
        domain_events.emit("request.denied", request=locked, actor=actor.user)
    return locked


@audited_refusal("request.cancel")
def request_cancel(*, actor: Actor | User, request: Request) -> Request:
    """The requester withdraws a pending request."""
    request = _load_for_decision(request)
    actor = as_actor(actor) if actor is not None else None
    if actor is None or actor.user is None or request.requested_by_id != actor.user.pk:
        raise forbidden("Only the person who made a request can cancel it.")
    now = timezone.now()
    with transaction.atomic():
        locked = _lock_request(request)
        if locked.status != Request.Status.PENDING_APPROVAL:
            raise conflict(f"This request is no longer pending: it is {locked.get_status_display().lower()}.")
        _set_status(locked, status=Request.Status.CANCELED, now=now, status_message=f"Canceled by {actor}.")
        _audit_request(action="request.cancel", actor=actor, request=locked)
        domain_events.emit("request.canceled", request=locked, actor=actor.user)
    return locked


# --- deactivate / extend / renew ------------------------------------------------------------------------


def _own_assignment(*, actor, assignment: Assignment) -> Assignment:
    found = (Assignment.objects.select_related("principal", "role", "scope", "activated_from")
             .filter(pk=_pk(assignment)).first())
    if found is None:
        raise not_found("No such assignment.")
    if actor is None or not getattr(actor, "is_authenticated", False) or actor.principal is None or \
            found.principal_id != actor.principal.pk:
        raise forbidden("That assignment is not yours.")
    return found


def _requester(actor) -> Actor:
    """Self-service is for people (service principals hold only what an administrator gives them)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise forbidden("Sign in first.")
    actor = as_actor(actor)
    if not actor.is_person:
        raise forbidden("A service principal cannot ask for this: self-service is for people.")
    return actor


def _self_request(*, action: str, actor: Actor, target: Assignment, now: datetime, **fields) -> Request:
    return Request.objects.create(action=action, requested_by=actor.user, principal=target.principal,
                                  role=target.role, scope=target.scope, kind=target.kind, assignment=target,
                                  created_at=now, **fields)


def _admin_approval_fields(*, assignment: Assignment, now: datetime) -> dict:
    setting = assignment_selectors.role_setting_effective(role=assignment.role, scope=assignment.scope)
    return {"status": Request.Status.PENDING_APPROVAL, "approvals_required": 1,
            "approval_deadline": now + timedelta(minutes=setting.approval_window_minutes)}


def _create_open(*, action: str, actor, target: Assignment, now: datetime, **fields) -> Request:
    if Request.objects.filter(eligible_assignment=target, action=action,
                              status__in=Request.OPEN_STATUSES).exists():
        raise conflict("A request for this is already waiting for approval.")
    try:
        with transaction.atomic():
            return _self_request(action=action, actor=actor, target=target, now=now, eligible_assignment=target,
                                 **fields)
    except IntegrityError:
        raise conflict("A request for this is already waiting for approval.")


@audited_refusal("request.self_extend")
def request_self_extend(*, actor: Actor | User, assignment: Assignment, duration_minutes: int | None = None,
                        end_at: datetime | None = None, justification: str = "") -> Request:
    """Ask the role's administrators to extend one's own assignment (eligible or active) that ends
    within 14 days: by `duration_minutes` past its current end, or to `end_at`. An activation is
    extended at most to the policy's maximum from now, and never past its eligibility."""
    actor = _requester(actor)
    assignment = _own_assignment(actor=actor, assignment=assignment)
    justification = (justification or "").strip()
    now = timezone.now()
    if assignment.status != Assignment.Status.LIVE:
        raise invalid("That assignment has already ended: renew it instead.")
    if (duration_minutes is None) == (end_at is None):
        raise invalid("Give either a duration or a new end.", field="duration_minutes")
    if end_at is None:
        try:
            duration_minutes = int(duration_minutes)
        except (TypeError, ValueError):
            raise invalid("Give the duration in minutes.", field="duration_minutes")
        if duration_minutes <= 0:
            raise invalid("The extension must be a positive number of minutes.", field="duration_minutes")
        if assignment.end_at is not None:
            end_at = assignment.end_at + timedelta(minutes=duration_minutes)
    # The rules of an extension (window, policy, activation limits, eligibility): one definition,
    # run again under the lock when the request is approved.
    eligible = assignment.activated_from
    checked_end = assignment_extend_validate(assignment=assignment, end_at=end_at, now=now, eligible=eligible)
    if checked_end != end_at:  # the validator stops an activation at its eligibility's end; a person asked more
        raise invalid(f"Your eligibility ends at {local_text(eligible.end_at)}; the activation cannot outlast it.",
                      field="end_at")
    if not justification:
        raise invalid("Say why you need the extension.", field="justification")
    with transaction.atomic():
        request = _create_open(action=Request.Action.SELF_EXTEND, actor=actor, target=assignment, now=now,
                               start_at=assignment.start_at, end_at=end_at,
                               duration_minutes=duration_minutes, justification=justification,
                               **_admin_approval_fields(assignment=assignment, now=now))
        _audit_request(action="request.self_extend", actor=actor, request=request, justification=justification,
                       before={"end_at": assignment.end_at}, after={"end_at": end_at})
        domain_events.emit("request.created", request=request, actor=actor.user)
    return request


@audited_refusal("request.self_renew")
def request_self_renew(*, actor: Actor | User, assignment: Assignment, end_at: datetime, justification: str) -> Request:
    """Ask the role's administrators to renew one's own assignment that expired in the last 30 days,
    from the approval until `end_at`."""
    actor = _requester(actor)
    assignment = _own_assignment(actor=actor, assignment=assignment)
    justification = (justification or "").strip()
    now = timezone.now()
    if end_at is None:
        raise invalid("Give the new end.", field="end_at")
    # The rules of a renewal (window, policy, duration): one definition, run again under the lock when
    # the request is approved.
    assignment_renew_validate(assignment=assignment, end_at=end_at, now=now)
    if not justification:
        raise invalid("Say why you need the assignment renewed.", field="justification")
    if Assignment.objects.filter(principal=assignment.principal, role=assignment.role, scope=assignment.scope,
                                 kind=assignment.kind, status=Assignment.Status.LIVE).filter(
            Q(end_at__isnull=True) | Q(end_at__gt=now)).exists():
        raise conflict(f"You already have a current {assignment.get_kind_display().lower()} assignment of "
                       f"{assignment.role.name} at {assignment.scope.path}.")
    with transaction.atomic():
        request = _create_open(action=Request.Action.SELF_RENEW, actor=actor, target=assignment, now=now,
                               end_at=end_at, justification=justification,
                               **_admin_approval_fields(assignment=assignment, now=now))
        _audit_request(action="request.self_renew", actor=actor, request=request, justification=justification,
                       after={"end_at": end_at})
        domain_events.emit("request.created", request=request, actor=actor.user)
    return request


# --- time-outs --------------------------------------------------------------------------------------------


_ESCALATION = Actor.system("request-escalation")


def _escalation_due_q(now: datetime) -> Q:
    """Pending at a stage that escalates, not escalated yet, its stage timed out at `now`: what the sweep
    escalates, and what the decision rules already treat as escalated before it has run."""
    return Q(status=Request.Status.PENDING_APPROVAL, approval_deadline__lte=now, stage_escalated=False,
             approval_stage__escalate_on_timeout=True)


def _escalate_locked(*, ids: list, now: datetime) -> list[Request]:
    """Hand the requests `ids` (locked by the caller) that are due for escalation at `now` to their stage's
    fallback approvers, in one UPDATE: from the moment the stage timed out (its deadline, never the
    sweep's time) for another stage timeout, with the stage's fallback quorum (approvals already given at
    the stage count). Each is audited and announced (the fallback and the first approvers told). Returns
    the rows escalated."""
    if not ids:
        return []
    stage = ApprovalStage.objects.filter(pk=OuterRef("approval_stage_id"))
    Request.objects.filter(Q(pk__in=ids) & _escalation_due_q(now)).update(
        stage_escalated=True, updated_at=now, approvers_reminded_at=None,
        approval_deadline=F("approval_deadline") + Subquery(stage.annotate(
            span=MinutesAsDuration(F("timeout_minutes")))
            .values("span")[:1]),
        approvals_required=Subquery(stage.values("fallback_approvals_required")[:1]))
    escalated = list(Request.objects.filter(pk__in=ids, stage_escalated=True, updated_at=now)
                     .select_related("approval_stage", "principal", "role", "scope", "requested_by"))
    for request in escalated:
        stage = request.approval_stage
        before = request.approval_deadline - timedelta(minutes=stage.timeout_minutes)
        _audit_request(action="request.escalate", actor=_ESCALATION, request=request,
                       message=f"Nobody decided {stage.label} by {_fmt(before)}: handed to its fallback approvers "
                               f"until {_fmt(request.approval_deadline)}.",
                       before={"approval_deadline": before, "escalated": False},
                       after={"approval_deadline": request.approval_deadline, "escalated": True})
        domain_events.emit("request.escalated", request=request, stage=stage)
    return escalated


def request_escalate_overdue(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Escalate the requests whose stage timed out and says so (`_escalate_locked`), set-based in batches:
    the due rows are locked (skip_locked: a decision holding one escalates it itself, see
    `_escalate_if_due`) and moved by one guarded UPDATE per batch. However late the sweep runs, the new
    deadline counts from the stage's own. Returns how many requests this call escalated."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            ids = list(Request.objects.select_for_update(skip_locked=True, of=("self",))
                       .filter(_escalation_due_q(now)).order_by("approval_deadline")
                       .values_list("pk", flat=True)[:batch_size])
            total += len(_escalate_locked(ids=ids, now=now))
        if len(ids) < batch_size:
            return total


def _escalate_if_due(request: Request, *, now: datetime) -> None:
    """Under the request's lock: a stage that timed out and escalates, but that the sweep has not reached
    yet, is escalated now, before anyone decides (so the fallback quorum and deadline apply)."""
    if request.approval_stage_id and not request.stage_escalated and request.approval_deadline is not None and \
            request.approval_deadline <= now and request.status == Request.Status.PENDING_APPROVAL and \
            request.approval_stage.escalate_on_timeout:
        for escalated in _escalate_locked(ids=[request.pk], now=now):
            request.stage_escalated, request.approval_deadline = True, escalated.approval_deadline
            request.approvals_required, request.approvers_reminded_at = escalated.approvals_required, None


def request_expire_overdue(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Time out pending requests whose approval window (or stage, escalated or not) has passed; those
    whose stage escalates are escalated first (`request_escalate_overdue`). Set-based in batches; each
    row is moved by a guarded update, so a decision racing the sweep wins or loses cleanly. Returns how
    many requests this call timed out."""
    now = now or timezone.now()
    request_escalate_overdue(now=now, batch_size=batch_size)
    total = 0
    while True:
        with transaction.atomic():
            ids = list(
                Request.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Request.Status.PENDING_APPROVAL, approval_deadline__lte=now)
                .exclude(_escalation_due_q(now))  # a row a decision held while the escalation ran: not timed out
                .order_by("approval_deadline")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return total
            message = "Nobody decided within the approval window."
            Request.objects.filter(pk__in=ids, status=Request.Status.PENDING_APPROVAL).update(
                status=Request.Status.TIMED_OUT, decided_at=now, updated_at=now, status_message=message)
            for request in Request.objects.filter(pk__in=ids, status=Request.Status.TIMED_OUT, decided_at=now) \
                    .select_related("principal", "role", "scope"):
                _audit_request(action="request.time_out", actor=_TIME_OUT, request=request, message=message)
                domain_events.emit("request.timed_out", request=request)
                total += 1
        if len(ids) < batch_size:
            return total


def role_setting_for_activation(*, eligible_assignment: Assignment, scope: Scope | None = None) -> RoleSetting:
    """The policy an activation form shows before it asks (read-only helper for views and the API)."""
    return assignment_selectors.role_setting_effective(role=eligible_assignment.role,
                                                       scope=scope or eligible_assignment.scope)


# --- delegation ---------------------------------------------------------------------------------------

MAX_DELEGATION = timedelta(days=180)


def _delegation_snapshot(delegation: ApprovalDelegation) -> dict:
    return {"id": delegation.pk, "delegator": delegation.delegator_id, "delegate": delegation.delegate_id,
            "starts_at": delegation.starts_at, "ends_at": delegation.ends_at, "reason": delegation.reason,
            "revoked_at": delegation.revoked_at}


def _delegation_describe(kwargs: dict) -> dict:
    delegation = kwargs.get("delegation")
    return {"target": delegation if isinstance(delegation, ApprovalDelegation) else None}


@audited_refusal("delegation.create", describe=_delegation_describe)
def delegation_create(*, actor: Actor | User, delegate: User | int, starts_at: datetime, ends_at: datetime,
                      reason: str = "") -> ApprovalDelegation:
    """Delegate one's approvals to `delegate` from `starts_at` until `ends_at` (out of office, at most 180
    days). The delegate must be an enabled user other than oneself who can sign in and decide (not an
    emergency access account); while it lasts they decide what the delegator may decide, as the
    delegator, never their own requests. One delegation at a time per delegator: overlapping ones are
    refused (the delegator's row is locked, so two at once cannot both pass)."""
    actor = _decider(actor)
    reason = (reason or "").strip()[:500]
    found = User.objects.select_related("principal").filter(pk=_pk(delegate)).first()
    if found is None or not hasattr(found, "principal"):
        raise invalid("Choose the user to delegate to.", field="delegate")
    if found.pk == actor.user.pk:
        raise invalid("You cannot delegate to yourself.", field="delegate")
    if not found.is_active or not found.principal.enabled:
        raise invalid(f"{found} is disabled: they cannot approve anything.", field="delegate")
    if found.is_emergency_access:
        raise invalid("An emergency access account cannot receive delegations: it is for break-glass only.",
                      field="delegate")
    for value, field in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if value is None:
            raise invalid("Give the start and the end of the delegation.", field=field)
        if timezone.is_naive(value):
            raise invalid("Times must carry a time zone.", field=field)
    now = timezone.now()
    if ends_at <= starts_at:
        raise invalid("The delegation must end after it starts.", field="ends_at")
    if ends_at <= now:
        raise invalid("That delegation would already be over.", field="ends_at")
    if ends_at - max(starts_at, now) > MAX_DELEGATION:
        raise invalid("A delegation lasts at most 180 days.", field="ends_at")
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=actor.user.pk).first()  # one delegation change at a time
        overlapping = ApprovalDelegation.objects.filter(delegator=actor.user, revoked_at__isnull=True,
                                                        starts_at__lt=ends_at, ends_at__gt=max(starts_at, now)).first()
        if overlapping is not None:
            raise conflict(f"You already delegate to {overlapping.delegate} from {local_text(overlapping.starts_at)} "
                           f"until {local_text(overlapping.ends_at)}: revoke that one first.")
        delegation = ApprovalDelegation.objects.create(delegator=actor.user, delegate=found, starts_at=starts_at,
                                                       ends_at=ends_at, reason=reason, created_at=now)
        audit_event_record(action="delegation.create", actor=actor, target=delegation, principal=found.principal,
                           justification=reason, after=_delegation_snapshot(delegation),
                           message=f"{actor} delegates approvals to {found} from {_fmt(starts_at)} "
                                   f"until {_fmt(ends_at)}.")
        domain_events.emit("delegation.created", delegation=delegation, actor=actor.user)
    return delegation


@audited_refusal("delegation.revoke", describe=_delegation_describe)
def delegation_revoke(*, actor: Actor | User, delegation: ApprovalDelegation | int) -> ApprovalDelegation:
    """End a delegation now (its delegator, or its delegate declining it). Locks the delegation only: a
    decision made through it locks the request first and then the delegation, so the two serialise
    (see `_check_decider_locked`)."""
    actor = _decider(actor)
    now = timezone.now()
    with transaction.atomic():
        locked = (ApprovalDelegation.objects.select_for_update().filter(pk=_pk(delegation)).first())
        if locked is None:
            raise not_found("No such delegation.")
        if actor.user.pk not in (locked.delegator_id, locked.delegate_id):
            raise forbidden("Only the person who delegated (or their delegate) can revoke a delegation.")
        if locked.revoked_at is not None:
            raise conflict("This delegation is already revoked.")
        if locked.ends_at <= now:
            raise conflict("This delegation has already ended.")
        changed = ApprovalDelegation.objects.filter(pk=locked.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=actor.user)
        if changed != 1:
            raise conflict("This delegation is already revoked.")
        before = _delegation_snapshot(locked)
        locked.revoked_at, locked.revoked_by = now, actor.user
        audit_event_record(action="delegation.revoke", actor=actor, target=locked, before=before,
                           after=_delegation_snapshot(locked))
        domain_events.emit("delegation.revoked", delegation=locked, actor=actor.user)
    return locked


# --- reminders ----------------------------------------------------------------------------------------

_REMINDER = Actor.system("approval-reminder")


def _reminder_every(request: Request) -> timedelta | None:
    stage = request.approval_stage if request.approval_stage_id else None
    minutes = stage.reminder_every_minutes if stage is not None else None
    if minutes is None:
        minutes = settings.PIM_APPROVAL_REMINDER_MINUTES
    return timedelta(minutes=minutes) if minutes else None


def request_remind_approvers(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Remind the approvers who have not decided a pending request, every `reminder_every_minutes` of its
    stage (PIM_APPROVAL_REMINDER_MINUTES for requests without stages; 0: never) since it started waiting
    there or since the last reminder. Idempotent: each reminder is claimed by a guarded update of
    `approvers_reminded_at` (the job running twice, or twice at once, sends it once), and its emails are
    queued in the outbox in the same transaction (`request.reminder`). Returns how many were sent."""
    now = now or timezone.now()
    total, after = 0, None
    while True:
        with transaction.atomic():
            rows = (Request.objects.select_for_update(skip_locked=True, of=("self",))
                    .filter(status=Request.Status.PENDING_APPROVAL, approval_deadline__gt=now)
                    .select_related("approval_stage", "principal", "role", "scope", "requested_by")
                    .order_by("pk"))
            if after is not None:
                rows = rows.filter(pk__gt=after)
            batch = list(rows[:batch_size])
            for request in batch:
                every = _reminder_every(request)
                if every is None:
                    continue
                since = request.approvers_reminded_at or request.stage_started_at or request.created_at
                if since + every > now:
                    continue
                claimed = Request.objects.filter(pk=request.pk, status=Request.Status.PENDING_APPROVAL,
                                                 approvers_reminded_at=request.approvers_reminded_at).update(
                    approvers_reminded_at=now)
                if claimed != 1:
                    continue
                request.approvers_reminded_at = now
                _audit_request(action="request.remind", actor=_REMINDER, request=request,
                               message="The approvers who have not decided are reminded.")
                domain_events.emit("request.reminder", request=request)
                total += 1
        if len(batch) < batch_size:
            return total
        after = batch[-1].pk
