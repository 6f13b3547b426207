"""What-if: the decision the portal would make on a self-activation, explained, without writing anything.

For a principal, a role, a scope and a time (now or later), and the requester's answers (duration,
justification, ticket, a fresh MFA verification, the client address): how the principal is eligible
(directly, through a group, at an ancestor scope), the policy that applies and the scope it is
inherited from, what activation requires (MFA, approval, its stages and who approves, ticket, justification,
trusted networks, time windows, the maximum duration) and every reason it would be refused. The
verdict is what `approvals.services.request_self_activate` would do at that time: activate at once,
wait for approval, or refuse — the checks are the same rule functions it runs, in the same order, so
that the two cannot drift apart (tests/governance/test_whatif_agrees_with_the_real_services.py holds
them to it over random worlds).

A *proposed* policy is plain input: the values `role_setting_update` takes (`values`, `approver_ids`) at
a scope; the simulation applies it where it would apply (at that scope and below, unless a nearer
setting overrides it) and nothing is saved.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from approvals.models import Request
from approvals.selectors import FALLBACK_APPROVER_ROLES
from assignments import rules
from assignments.access import access_find_eligibility, access_role_holders
from assignments.conditions import check_activation_conditions, parse_time_windows, parse_trusted_networks
from assignments.models import ApprovalStage, Assignment, Principal, RoleDefinition, RoleSetting, Scope, ScopeClosure
from assignments.selectors import role_setting_effective
from assignments.services import ROLE_SETTING_FIELDS, role_setting_validate
from core.actors import Actor
from core.errors import DomainError, invalid

from . import separation

ACTIVATE, APPROVAL, REFUSED = "activate", "approval", "refused"
VERDICT_TEXT = {ACTIVATE: "Would be activated at once.", APPROVAL: "Would wait for approval.",
                REFUSED: "Would be refused."}


@dataclass(frozen=True)
class Proposal:
    """A proposed role setting: `values` as `role_setting_update` takes them, at `scope` (None: where the
    effective policy is set today, or `/` when only the built-in defaults apply), and the approvers."""

    values: dict = field(default_factory=dict)
    scope: Scope | None = None
    approver_ids: list[int] | None = None


@dataclass
class Refusal:
    code: str  # the DomainError code the real service raises: invalid, forbidden, conflict
    message: str
    field: str | None = None


@dataclass
class Explanation:
    principal: str
    role: str
    scope: str
    at: datetime
    verdict: str = REFUSED
    refusals: list[Refusal] = field(default_factory=list)
    eligibility: dict | None = None
    policy: dict = field(default_factory=dict)
    requirements: dict = field(default_factory=dict)
    window: dict | None = None
    separation: list[dict] = field(default_factory=list)
    approvers: list[dict] = field(default_factory=list)
    stages: list[dict] = field(default_factory=list)  # in order, when the policy decides in stages

    @property
    def verdict_text(self) -> str:
        return VERDICT_TEXT[self.verdict]

    def as_dict(self) -> dict:
        data = asdict(self)
        data["verdict_text"] = self.verdict_text
        return data


def _refuse(explanation: Explanation, error: DomainError) -> None:
    explanation.refusals.append(Refusal(code=error.code, message=error.message, field=error.field))


def _nearest(setting: RoleSetting) -> str | None:
    return setting.scope.path if setting.pk else None


def policy_for(*, role: RoleDefinition, scope: Scope, proposal: Proposal | None = None
               ) -> tuple[RoleSetting, list[int], str]:
    """(the policy that applies, its approver ids, where it comes from: "setting", "defaults", "proposed").
    The proposal's values are checked like `role_setting_update` checks them."""
    current = role_setting_effective(role=role, scope=scope)
    current_approvers = list(current.approvers.values_list("pk", flat=True)) if current.pk else []
    if proposal is None:
        return current, current_approvers, "setting" if current.pk else "defaults"
    unknown = set(proposal.values) - set(ROLE_SETTING_FIELDS)
    if unknown:
        raise invalid(f"Unknown setting fields: {', '.join(sorted(unknown))}.", field="values")
    role_setting_validate(values=proposal.values)
    at = proposal.scope or (current.scope if current.pk else Scope.objects.get(parent__isnull=True))
    reaches = ScopeClosure.objects.filter(ancestor=at, descendant=scope).exists()
    nearer_or_same = not current.pk or ScopeClosure.objects.filter(ancestor=current.scope, descendant=at).exists()
    if not (reaches and nearer_or_same):
        return current, current_approvers, "setting" if current.pk else "defaults"
    base = RoleSetting.objects.filter(role=role, scope=at).first() or RoleSetting(role=role, scope=at)
    simulated = RoleSetting(role=role, scope=at, **{name: getattr(base, name) for name in ROLE_SETTING_FIELDS})
    for name, value in proposal.values.items():
        setattr(simulated, name, value)
    approvers = proposal.approver_ids if proposal.approver_ids is not None else (
        list(base.approvers.values_list("pk", flat=True)) if base.pk else [])
    return simulated, list(approvers), "proposed"


def _membership_end(*, principal_id: int, eligible: Assignment) -> datetime | None:
    """`assignments.services.assignment_lock_memberships`'s answer, read without the lock."""
    if eligible.principal_id == principal_id:
        return None
    ends = list(Assignment.objects.filter(
        principal_id=principal_id, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
        role__slug=RoleDefinition.GROUP_MEMBER, scope__group_id=eligible.principal_id,
    ).values_list("end_at", flat=True))
    if not ends or None in ends:
        return None
    return max(ends)


def _approvers(*, setting: RoleSetting, approver_ids: list[int], role: RoleDefinition, scope: Scope,
               requester: Principal, at: datetime) -> list[dict]:
    """Who would be asked: the enabled users and groups the policy names, else the role kind's fallback
    administrators at the scope or above; never the requester; with their separation-of-duties standing."""
    named = list(Principal.objects.filter(pk__in=approver_ids, enabled=True).order_by("display_name"))
    if named:
        people = [(p, "named in the policy") for p in named if p.pk != requester.pk]
    else:
        slugs = FALLBACK_APPROVER_ROLES[role.kind]
        rows = access_role_holders(role_slugs=slugs, scope=scope, at=at)
        holders = Principal.objects.filter(pk__in=[r[0] for r in rows if r[0] != requester.pk], kind="user")
        people = [(p, "fallback: " + ", ".join(slugs)) for p in holders.order_by("display_name")]
    found = []
    for principal, why in people:
        conflicts = separation.approver_conflicts(approver=principal, role=role, scope=scope, at=at)
        found.append({"principal": str(principal), "principal_id": principal.pk, "kind": principal.kind, "why": why,
                      "separation": [{"set": c.conflict_set.name, "mode": c.conflict_set.mode,
                                      "text": c.sentence(str(principal))} for c in conflicts]})
    return found


def _stages(setting: RoleSetting) -> list[dict]:
    """The policy's approval stages in order (`assignments.ApprovalStage`): who decides each, how many of
    them, how long it waits and where it escalates."""
    if not setting.pk:
        return []
    stages = ApprovalStage.objects.filter(setting_id=setting.pk).prefetch_related("approvers", "fallback_approvers")
    return [{
        "position": stage.position, "name": stage.name or f"Stage {stage.position}",
        "approvers": sorted(str(p) for p in stage.approvers.all()), "owners_of_scope": stage.owners_of_scope,
        "approvals_required": stage.approvals_required, "timeout_minutes": stage.timeout_minutes,
        "escalate_on_timeout": stage.escalate_on_timeout,
        "fallback_approvers": sorted(str(p) for p in stage.fallback_approvers.all()),
        "fallback_approvals_required": stage.fallback_approvals_required,
    } for stage in stages.order_by("position")]


def whatif_explain(*, principal: Principal, role: RoleDefinition, scope: Scope, at: datetime | None = None,
                   duration_minutes: int | None = None, justification: str = "", ticket_system: str = "",
                   ticket_number: str = "", mfa_verified: bool = False, client_ip: str | None = None,
                   proposal: Proposal | None = None) -> Explanation:
    """Explain the self-activation of `role` at `scope` by `principal` asked at `at` (default now) with
    these answers (`duration_minutes` None: the policy's maximum). Reads only."""
    at = at or timezone.now()
    justification, ticket_system, ticket_number = justification.strip(), ticket_system.strip(), ticket_number.strip()
    explanation = Explanation(principal=str(principal), role=role.name, scope=scope.path, at=at)
    setting, approver_ids, source = policy_for(role=role, scope=scope, proposal=proposal)
    explanation.policy = {
        "source": source, "inherited_from": setting.scope.path if source != "defaults" else None,
        "values": {name: getattr(setting, name) for name in ROLE_SETTING_FIELDS if name != "notifications"},
        "approver_ids": approver_ids,
    }
    user = principal.user if principal.kind == Principal.Kind.USER else None
    exempt = bool(user and user.is_emergency_access)
    explanation.requirements = {
        "max_activation_minutes": setting.max_activation_minutes,
        "mfa": setting.require_mfa_on_activation and not exempt,
        "justification": setting.require_justification_on_activation,
        "ticket": setting.require_ticket_on_activation,
        "approval": setting.require_approval and not exempt,
        "approvals_required": setting.approvals_required if setting.require_approval and not exempt else 0,
        "approval_window_minutes": setting.approval_window_minutes,
        "trusted_networks": [str(n) for n in parse_trusted_networks(setting.trusted_networks)],
        "time_windows": [line.strip() for line in setting.allowed_time_windows.splitlines() if line.strip()],
        "time_zone": setting.allowed_time_windows_zone,
        "emergency_access_exempt": exempt,
    }
    parse_time_windows(setting.allowed_time_windows)  # a stored policy always parses; a proposal was validated

    if user is None:
        _refuse(explanation, DomainError("Only people activate roles: a group's members and a service principal's "
                                         "owners do it with their own accounts.", code="forbidden"))
        return explanation
    try:
        rules.check_role_fits_scope(role=role, scope=scope)
    except DomainError as error:
        _refuse(explanation, error)
        return explanation
    grant = access_find_eligibility(principal=principal, role=role, scope=scope, at=at)
    if grant is None:
        reason = "is disabled" if not (principal.enabled and user.is_active) else "is not eligible"
        _refuse(explanation, DomainError(f"{principal} {reason} for {role.name} at {scope.path} at that time "
                                         f"(directly, through a group, or at a scope above).", code="forbidden"))
        return explanation
    eligible = Assignment.objects.select_related("principal", "scope").get(pk=grant.assignment_id)
    via = eligible.principal if eligible.principal_id != principal.pk else None
    explanation.eligibility = {
        "assignment_id": eligible.pk, "assigned_at_scope": eligible.scope.path,
        "via_group": str(via) if via else None, "via_group_id": via.pk if via else None,
        "via_ancestor_scope": eligible.scope_id != scope.pk,
        "path": ("through the group " + str(via) if via else "directly")
        + (f", at the ancestor scope {eligible.scope.path}" if eligible.scope_id != scope.pk else ", at this scope"),
        "start_at": eligible.start_at, "end_at": eligible.end_at,
    }
    if not exempt and setting.require_approval:
        explanation.approvers = _approvers(setting=setting, approver_ids=approver_ids, role=role, scope=scope,
                                           requester=principal, at=at)
        explanation.stages = _stages(setting)
    duration = setting.max_activation_minutes if duration_minutes is None else int(duration_minutes)
    minimum = int(settings.PIM_MIN_ASSIGNMENT_DURATION.total_seconds() // 60)
    if not minimum <= duration <= setting.max_activation_minutes:
        _refuse(explanation, invalid(f"The duration must be between {minimum} minutes and the policy's maximum of "
                                     f"{setting.max_activation_minutes} minutes.", field="duration_minutes"))
    membership_end = _membership_end(principal_id=principal.pk, eligible=eligible)
    end = at + timedelta(minutes=duration)
    limits = [limit for limit in (eligible.end_at, membership_end) if limit is not None]
    capped = bool(limits) and end > min(limits)
    end = min(limits) if capped else end
    explanation.window = {"start_at": at, "end_at": end, "capped": capped}
    checks = [
        lambda: rules.check_duration(start_at=at, end_at=end),
        lambda: setting.require_justification_on_activation and not justification and _raise(
            invalid(f"The policy of {role.name} requires a justification.", field="justification")),
        lambda: setting.require_ticket_on_activation and not (ticket_system and ticket_number) and _raise(
            invalid(f"The policy of {role.name} requires a ticket.", field="ticket_number")),
        lambda: setting.require_mfa_on_activation and not exempt and rules.check_mfa_fresh(
            actor=Actor.person(user, mfa_verified_at=max(at, timezone.now()) if mfa_verified else None),
            what=f"activate {role.name}"),
        lambda: check_activation_conditions(trusted_networks=setting.trusted_networks,
                                            allowed_time_windows=setting.allowed_time_windows, client_ip=client_ip,
                                            at=at, time_zone=setting.allowed_time_windows_zone),
        lambda: _check_not_active_or_waiting(principal=principal, role=role, scope=scope, eligible=eligible, at=at),
    ]
    for check in checks:
        try:
            check()
        except DomainError as error:
            _refuse(explanation, error)
    for found in separation.conflicts_for(principal=principal, role=role, scope=scope, at=at, active_only=True,
                                          window_end=end):
        explanation.separation.append({"set": found.conflict_set.name, "mode": found.conflict_set.mode,
                                       "text": found.sentence(str(principal))})
        if found.refuses:
            _refuse(explanation, DomainError(found.sentence(str(principal)) + " The set refuses this.",
                                             code="conflict"))
    if not explanation.refusals:
        explanation.verdict = APPROVAL if setting.require_approval and not exempt else ACTIVATE
    return explanation


def _raise(error: DomainError) -> None:
    raise error


def _check_not_active_or_waiting(*, principal: Principal, role: RoleDefinition, scope: Scope, eligible: Assignment,
                                 at: datetime) -> None:
    if Assignment.objects.not_over_at(at).filter(principal=principal, role=role, scope=scope,
                                                 kind=Assignment.Kind.ACTIVE).exists():
        raise DomainError(f"{role.name} at {scope.path} is already active for {principal}: extend it instead.",
                          code="conflict")
    if Request.objects.filter(eligible_assignment=eligible, action=Request.Action.SELF_ACTIVATE,
                              status__in=Request.OPEN_STATUSES).exists():
        raise DomainError(f"An activation of {role.name} is already waiting for approval.", code="conflict")
