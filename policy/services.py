"""State changes of the policy app: dual control, rollback, proposals and their decisions, imports.

Each runs in one transaction; the configuration itself is written by its owners' services (through the
kinds of `policy.registry`), which check the actor's rights and MFA, audit, and record the versions.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from assignments import rules
from assignments.models import Principal, RoleDefinition, Scope
from assignments.services import audited_refusal
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.config_changes import (
    REASON_LIMIT,
    config_change_guard,
    config_change_reason,
    config_change_recorded,
    config_change_why,
)
from core.errors import conflict, forbidden, invalid, not_found
from governance.whatif import Explanation, whatif_explain

from . import documents
from .models import ConfigVersion, DualControl, Proposal
from .registry import KINDS, kind_get
from .versioning import Applying, applying, dual_control_at


def _reason(reason: str, *, what: str) -> str:
    return config_change_why(reason or "", what=what)


def _proposal_refusal(kwargs: dict) -> dict:
    proposal = kwargs.get("proposal")
    return {"target": proposal if isinstance(proposal, Proposal) else None}


# --- dual control -------------------------------------------------------------------------------------------


@audited_refusal("policy.dual_control")
def dual_control_set(*, actor: Actor, scope: Scope, enabled: bool) -> bool:
    """Turn dual control on or off at `scope` (and below). Directory administrators only, with a fresh MFA
    verification. Turning it off where it is on is itself under dual control: only an approved proposal
    does it. Returns whether anything changed."""
    actor = as_actor(actor)
    rules.check_directory_admin(actor=actor, what="turn dual control on or off")
    rules.check_admin_mfa(actor=actor, what="change dual control")
    with transaction.atomic():
        scope = Scope.objects.select_for_update().get(pk=scope.pk)
        exists = DualControl.objects.filter(scope=scope).exists()
        if exists == enabled:
            return False
        config_change_guard(kind="dual_control", key=scope.path, scope_path=scope.path, actor=actor)
        if enabled:
            DualControl.objects.create(scope=scope, created_by=actor.user, created_at=timezone.now())
        else:
            DualControl.objects.filter(scope=scope).delete()
        audit_event_record(action="policy.dual_control", actor=actor, target_type="policy.dualcontrol",
                           target_id=scope.path, target_label=f"Dual control at {scope.path}", scope=scope,
                           before={"enabled": exists}, after={"enabled": enabled})
        config_change_recorded(kind="dual_control", key=scope.path, actor=actor)
    return True


# --- proposals ----------------------------------------------------------------------------------------------


class _DryRun(Exception):
    pass


def _try_as(actor: Actor, changes: list[dict]) -> None:
    """Apply `changes` as `actor` and roll back: the owners' services check the actor's rights, MFA and
    every value, so a proposal its author could not apply is refused at once."""
    try:
        with transaction.atomic(), applying(Applying(source=ConfigVersion.Source.PROPOSAL, proposal_id=0)):
            for change in changes:
                KINDS[change["kind"]].apply(key=change["key"], data=change["data"], actor=actor)
            raise _DryRun
    except _DryRun:
        pass


def _scope_paths(changes: list[dict]) -> list[str]:
    return sorted({KINDS[c["kind"]].scope_path(c["key"]) for c in changes})


@audited_refusal("policy.proposal_create")
def proposal_create(*, actor: Actor, changes: list[dict], reason: str, title: str = "") -> Proposal:
    """Propose `changes` ([{kind, key, data}]: each item's whole new state, None to remove it) for a
    second administrator to approve. The author must be allowed to make them (tried and rolled back)."""
    actor = as_actor(actor)
    if not actor.is_person:
        raise forbidden("Proposals are made by people: a second person approves them.")
    reason = _reason(reason, what="propose this change")
    clean, base = [], []
    for change in changes:
        kind = kind_get(str(change.get("kind", "")))
        key = str(change.get("key", ""))
        data = kind.normalise(change.get("data"))
        current = kind.snapshot(key)
        if current == data:
            continue
        clean.append({"kind": kind.name, "key": key, "data": data})
        base.append(current)
    if not clean:
        raise invalid("Nothing would change: the proposal equals the current configuration.")
    _try_as(actor, clean)
    title = (title or "").strip()[:300] or (
        f"{KINDS[clean[0]['kind']].label} {clean[0]['key']}" if len(clean) == 1 else f"{len(clean)} changes")
    with transaction.atomic():
        proposal = Proposal.objects.create(title=title, reason=reason, changes=clean, base=base,
                                           scope_paths=_scope_paths(clean), created_by=actor.user,
                                           created_at=timezone.now())
        audit_event_record(action="policy.proposal_create", actor=actor, target=proposal, target_label=title,
                           message=reason, after={"changes": clean})
    return proposal


def _lock_pending(proposal: Proposal) -> Proposal:
    locked = Proposal.objects.select_for_update().filter(pk=proposal.pk).first()
    if locked is None:
        raise not_found("That proposal does not exist.")
    if locked.status != Proposal.Status.PENDING:
        raise conflict(f"This proposal is already {locked.get_status_display().lower()}.")
    return locked


def _decide(locked: Proposal, *, actor: Actor, status: str, comment: str) -> None:
    """The guarded transition out of pending: exactly one decision wins."""
    updated = Proposal.objects.filter(pk=locked.pk, status=Proposal.Status.PENDING).update(
        status=status, decided_by=actor.user, decided_at=timezone.now(), decision_comment=comment)
    if updated != 1:
        raise conflict("This proposal was decided in the meantime.")
    locked.refresh_from_db()


@audited_refusal("policy.proposal_approve", describe=_proposal_refusal)
def proposal_approve(*, actor: Actor, proposal: Proposal, comment: str = "") -> Proposal:
    """A second administrator applies the proposal: never its author; with the rights (and fresh MFA)
    the changes need, checked by the owners' services as this approver; only if nothing it changes has
    changed since it was proposed. Applied once, whoever else approves at the same moment."""
    actor = as_actor(actor)
    if not actor.is_person:
        raise forbidden("Proposals are approved by people.")
    comment = (comment or "").strip()[:REASON_LIMIT]
    with transaction.atomic():
        locked = _lock_pending(proposal)
        if locked.created_by_id == actor.user.pk:
            raise forbidden("You made this proposal: a second administrator must approve it.")
        for change, base in zip(locked.changes, locked.base, strict=True):
            if KINDS[change["kind"]].snapshot(change["key"]) != base:
                raise conflict(f"{change['kind']} {change['key']} changed since this was proposed: reject it and "
                               "propose again from the current configuration.")
        with applying(Applying(source=ConfigVersion.Source.PROPOSAL, proposal_id=locked.pk)), \
                config_change_reason(f"Proposal #{locked.pk}: {locked.reason}"):
            for change in locked.changes:
                KINDS[change["kind"]].apply(key=change["key"], data=change["data"], actor=actor)
        _decide(locked, actor=actor, status=Proposal.Status.APPLIED, comment=comment)
        audit_event_record(action="policy.proposal_approve", actor=actor, target=locked, target_label=locked.title,
                           message=comment, after={"changes": locked.changes})
    return locked


@audited_refusal("policy.proposal_reject", describe=_proposal_refusal)
def proposal_reject(*, actor: Actor, proposal: Proposal, comment: str) -> Proposal:
    """Another administrator refuses it, saying why; they need the rights the changes need (tried)."""
    actor = as_actor(actor)
    comment = _reason(comment, what="reject this proposal")
    with transaction.atomic():
        locked = _lock_pending(proposal)
        if actor.user is None or locked.created_by_id == actor.user.pk:
            raise forbidden("Withdraw your own proposal instead of rejecting it.")
        _try_as(actor, locked.changes)
        _decide(locked, actor=actor, status=Proposal.Status.REJECTED, comment=comment)
        audit_event_record(action="policy.proposal_reject", actor=actor, target=locked, target_label=locked.title,
                           message=comment)
    return locked


@audited_refusal("policy.proposal_withdraw", describe=_proposal_refusal)
def proposal_withdraw(*, actor: Actor, proposal: Proposal, comment: str = "") -> Proposal:
    """Its author takes it back."""
    actor = as_actor(actor)
    with transaction.atomic():
        locked = _lock_pending(proposal)
        if actor.user is None or locked.created_by_id != actor.user.pk:
            raise forbidden("Only the author withdraws a proposal; reject it instead.")
        _decide(locked, actor=actor, status=Proposal.Status.WITHDRAWN, comment=(comment or "").strip()[:REASON_LIMIT])
        audit_event_record(action="policy.proposal_withdraw", actor=actor, target=locked, target_label=locked.title)
    return locked


_SIMULATOR = Actor.system("what-if")


def proposal_whatif(*, proposal: Proposal, principal: Principal, role: RoleDefinition, scope: Scope,
                    at: datetime | None = None, **answers) -> Explanation:
    """What-if under a proposed configuration: `governance.whatif.whatif_explain` (same arguments) run with
    every change of `proposal` applied, through the same kinds and owners' services an approval runs, in a
    savepoint that is then rolled back: nothing is saved, audited or sent. Any kind a proposal changes is
    simulated (a role setting, its approval stages, eligibility, …); a change that cannot be applied now is
    refused with its owner's error, as approving it would be."""
    try:
        with transaction.atomic():
            with applying(Applying(source=ConfigVersion.Source.PROPOSAL, proposal_id=proposal.pk)), \
                    config_change_reason(f"What-if of proposal #{proposal.pk}"):
                for change in proposal.changes:
                    KINDS[change["kind"]].apply(key=change["key"], data=change["data"], actor=_SIMULATOR)
            explanation = whatif_explain(principal=principal, role=role, scope=scope, at=at, **answers)
            raise _Simulated(explanation)
    except _Simulated as done:
        return done.explanation


class _Simulated(Exception):
    """Carries the explanation out of the savepoint it rolls back."""

    def __init__(self, explanation: Explanation):
        super().__init__("simulated")
        self.explanation = explanation


# --- rollback and import ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a rollback or an import did: applied now (`applied` items), or became `proposal`."""

    applied: int = 0
    proposal: Proposal | None = None
    message: str = ""


def _under_dual_control(changes: list[dict]) -> str | None:
    for change in changes:
        kind = KINDS[change["kind"]]
        if kind.versioned:
            control = dual_control_at(kind.scope_path(change["key"]))
            if control is not None:
                return control.scope.path
    return None


def _apply_or_propose(*, actor: Actor, changes: list[dict], reason: str, title: str, how: Applying,
                      audit: dict) -> Outcome:
    if not changes:
        return Outcome(message="Nothing to change.")
    controlled = _under_dual_control(changes)
    if controlled is not None:
        if not actor.is_person:
            raise conflict(f"Dual control is on at {controlled}: these changes need a proposal by a person, approved "
                           "by a second one. Import through the page or the API as yourself.")
        proposal = proposal_create(actor=actor, changes=changes, reason=reason, title=title)
        return Outcome(proposal=proposal, message=f"Dual control is on at {controlled}: this is now proposal "
                                                  f"#{proposal.pk}, applied once a second administrator approves it.")
    with transaction.atomic(), applying(how), config_change_reason(reason):
        for change in changes:
            KINDS[change["kind"]].apply(key=change["key"], data=change["data"], actor=actor)
        audit_event_record(actor=actor, message=reason, **audit)
    return Outcome(applied=len(changes), message=f"Applied {len(changes)} change{'s' * (len(changes) != 1)}.")


def dual_control_off(*, actor: Actor, scope: Scope, reason: str) -> Outcome:
    """Turn dual control off at `scope`: where it is on, that is a proposal (a second administrator)."""
    actor = as_actor(actor)
    if not DualControl.objects.filter(scope=scope).exists():
        return Outcome(message=f"Dual control is not on at {scope.path}.")
    reason = _reason(reason, what="turn dual control off")
    return _apply_or_propose(actor=actor, changes=[{"kind": "dual_control", "key": scope.path, "data": None}],
                             reason=reason, title=f"Turn dual control off at {scope.path}",
                             how=Applying(source=ConfigVersion.Source.CHANGE),
                             audit={"action": "policy.dual_control_off", "scope": scope})


def version_rollback(*, actor: Actor, kind: str, key: str, number: int, reason: str) -> Outcome:
    """Make the item what it was at version `number`: a new version (or, under dual control, a proposal)."""
    actor = as_actor(actor)
    registered = kind_get(kind)
    reason = _reason(reason, what="roll back")
    version = ConfigVersion.objects.filter(kind=kind, key=key, number=number).first()
    if version is None:
        raise not_found(f"{kind} {key} has no version {number}.")
    if registered.snapshot(key) == version.data:
        raise invalid(f"{key} is already as it was at version {number}.")
    changes = [{"kind": kind, "key": key, "data": version.data}]
    return _apply_or_propose(actor=actor, changes=changes, reason=f"Rollback to version {number}: {reason}",
                             title=f"Roll back {registered.label.lower()} {key} to version {number}",
                             how=Applying(source=ConfigVersion.Source.ROLLBACK, rolled_back_to=number),
                             audit={"action": "policy.rollback", "target_type": "policy.configversion",
                                    "target_id": str(version.pk), "target_label": f"{kind} {key} v{number}",
                                    "after": {"kind": kind, "key": key, "data": version.data}})


def config_import(*, actor: Actor, text: str, reason: str, prune: bool = False) -> Outcome:
    """Apply a YAML document: every change of its plan (with `prune`, its deletions too), in one transaction
    (all or nothing), through the ordinary services; again, it changes nothing (idempotent). Under dual
    control it becomes a proposal."""
    actor = as_actor(actor)
    reason = _reason(reason, what="import this configuration")
    plan = documents.config_plan(text, prune=prune)
    changes = [{"kind": c.kind, "key": c.key, "data": c.data} for c in plan.changes]
    return _apply_or_propose(actor=actor, changes=changes, reason=f"Import: {reason}", title="Configuration import",
                             how=Applying(source=ConfigVersion.Source.IMPORT),
                             audit={"action": "policy.import", "target_type": "policy.import",
                                    "target_label": "Configuration import",
                                    "after": {"summary": plan.summary, "prune": prune,
                                              "changes": [c.as_json() for c in plan.changes]}})
