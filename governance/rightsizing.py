"""Right-sizing from activation history: what the portal recommends, and the one-click fixes.

Four recommendations, each from committed state in a constant number of queries:
Thresholds (N days, FACTOR, MIN_SAMPLES) are an administrator's settings (`rightsizing_thresholds`).
- `unused_eligibility`: a live eligible assignment older than N days with no activation in N days →
  remove it (`assignment_remove`);
- `lower_maximum`: a policy whose maximum activation duration is at least FACTOR× the longest
  activation of the last N days (at least MIN_SAMPLES of them) → lower it to that, rounded up to the
  hour (`role_setting_update`);
- `group_together`: two eligibilities a person always activates together (every activation of each
  within TOGETHER of one of the other, at least MIN_SAMPLES times) → put the two roles in a group
  (a recommendation to act on by hand: which group, and who else belongs in it, is a decision);
- `make_eligible`: a standing active assignment of a person or a group, made more than N days ago,
  that could be eligible instead (`assignment_make_eligible`); emergency access accounts, service
  principals (which cannot be eligible) and group memberships from the directory are left alone.

Fixes run through the ordinary services, with their rules, step-up and audit events; they are
offered again only while the recommendation still holds (the key names its subject).
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, User
from assignments.selectors import expiration_delta, role_setting_effective
from assignments.services import assignment_make_eligible, assignment_remove, role_setting_update
from core.actors import as_actor
from core.errors import invalid, not_found

from .models import RightsizingSetting

TOGETHER = timedelta(minutes=10)


@dataclass(frozen=True)
class Thresholds:
    """What the recommendations need (an administrator sets them: `governance.services.rightsizing_settings_update`).
    `days`: the history read; `factor`: how far above the longest use a maximum must be; `min_samples`:
    the activations a duration or a pairing needs."""

    days: int = 30
    factor: int = 2
    min_samples: int = 3


DEFAULTS = Thresholds()
# name → (label, minimum, maximum): the page, the API and the service share them.
BOUNDS = {"days": ("History read (days)", 1, 365), "factor": ("Maximum at least this many times the longest use",
                                                                   2, 24),
          "min_samples": ("Activations needed", 1, 1000)}


def rightsizing_thresholds() -> Thresholds:
    """The thresholds in force: the stored row, else the defaults (one query)."""
    row = RightsizingSetting.objects.filter(key="default").first()
    return DEFAULTS if row is None else Thresholds(days=row.days, factor=row.factor, min_samples=row.min_samples)

UNUSED, LOWER_MAXIMUM, GROUP_TOGETHER, MAKE_ELIGIBLE = "unused_eligibility", "lower_maximum", "group_together", \
    "make_eligible"
KIND_LABELS = {UNUSED: "Eligibility never used", LOWER_MAXIMUM: "Maximum duration far above use",
               GROUP_TOGETHER: "Roles always activated together", MAKE_ELIGIBLE: "Standing access could be eligible"}
FIX_LABELS = {UNUSED: "Remove the eligibility", LOWER_MAXIMUM: "Lower the maximum",
              MAKE_ELIGIBLE: "Make it eligible"}


@dataclass
class Recommendation:
    key: str  # kind:subject — what a one-click fix names
    kind: str
    title: str
    detail: str
    principal: str = ""
    role: str = ""
    scope: str = ""
    assignment_id: int | None = None
    setting: dict | None = None  # {role_id, scope_id, current, suggested} for lower_maximum
    roles: list[dict] = field(default_factory=list)  # group_together: the two eligibilities

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def fix_label(self) -> str | None:
        return FIX_LABELS.get(self.kind)


def _activations_since(since: datetime, now: datetime):
    return (Assignment.objects.filter(activated_from__isnull=False, start_at__gte=since, start_at__lte=now)
            .select_related("role", "scope", "principal"))


def _used_for(activation: Assignment, now: datetime) -> timedelta:
    end = activation.ended_at if activation.ended_at and (activation.end_at is None or activation.ended_at <
                                                           activation.end_at) else activation.end_at
    return (min(end, now) if end else now) - activation.start_at


def _only(qs, ids):
    return qs if ids is None else qs.filter(pk__in=list(ids))


def unused_eligibility(*, now: datetime, thresholds: Thresholds = DEFAULTS, ids=None) -> list[Recommendation]:
    days = thresholds.days
    cutoff = now - timedelta(days=days)
    used = set(Assignment.objects.filter(activated_from__isnull=False, start_at__gte=cutoff)
               .filter(**({} if ids is None else {"activated_from_id__in": list(ids)}))
               .values_list("activated_from_id", flat=True))
    found = []
    eligible = _only(Assignment.objects.not_over_at(now).filter(kind=Assignment.Kind.ELIGIBLE, created_at__lt=cutoff,
                                                                principal__enabled=True), ids)
    for a in eligible.select_related("principal", "role", "scope").order_by("principal__display_name", "role__name"):
        if a.pk in used:
            continue
        found.append(Recommendation(
            key=f"{UNUSED}:{a.pk}", kind=UNUSED, assignment_id=a.pk, principal=str(a.principal), role=a.role.name,
            scope=a.scope.path, title=f"{a.principal} has not activated {a.role.name} at {a.scope.path} in {days} days",
            detail=f"Eligible since {a.created_at:%Y-%m-%d}, never activated since {cutoff:%Y-%m-%d}: remove it."))
    return found


def lower_maximum(*, now: datetime, thresholds: Thresholds = DEFAULTS) -> list[Recommendation]:
    days = thresholds.days
    by_setting: dict[tuple, list[timedelta]] = {}
    settings_of: dict[tuple, RoleSetting] = {}
    effective: dict[tuple[int, int], RoleSetting] = {}
    for activation in _activations_since(now - timedelta(days=days), now):
        pair = (activation.role_id, activation.scope_id)
        if pair not in effective:  # one lookup per (role, scope) activated, not per activation
            effective[pair] = role_setting_effective(role=activation.role, scope=activation.scope)
        setting = effective[pair]
        key = (setting.role_id, setting.scope_id if setting.pk else None)
        settings_of[key] = setting
        by_setting.setdefault(key, []).append(_used_for(activation, now))
    found = []
    for key, used in by_setting.items():
        setting = settings_of[key]
        longest = max(used)
        suggested = max(60, math.ceil(longest.total_seconds() / 3600) * 60)
        if len(used) < thresholds.min_samples or setting.max_activation_minutes < thresholds.factor * suggested \
                or suggested >= setting.max_activation_minutes:
            continue
        where = setting.scope.path if setting.pk else "/ (built-in defaults)"
        scope_id = setting.scope_id if setting.pk else Scope.objects.get(parent__isnull=True).pk
        found.append(Recommendation(
            key=f"{LOWER_MAXIMUM}:{setting.role_id}:{scope_id}", kind=LOWER_MAXIMUM, role=setting.role.name,
            scope=where, setting={"role_id": setting.role_id, "scope_id": scope_id,
                                  "current": setting.max_activation_minutes, "suggested": suggested},
            title=f"{setting.role.name}: maximum {setting.max_activation_minutes // 60} h, used at most "
                  f"{int(longest.total_seconds() // 60)} min",
            detail=f"{len(used)} activations in {days} days under the policy at {where}; lower the maximum to "
                   f"{suggested // 60} h."))
    return found


def group_together(*, now: datetime, thresholds: Thresholds = DEFAULTS) -> list[Recommendation]:
    days = thresholds.days
    by_principal: dict[int, list[Assignment]] = {}
    for activation in _activations_since(now - timedelta(days=days), now).order_by("start_at"):
        by_principal.setdefault(activation.principal_id, []).append(activation)
    found = []
    for activations in by_principal.values():
        by_eligibility: dict[int, list[Assignment]] = {}
        for a in activations:
            by_eligibility.setdefault(a.activated_from_id, []).append(a)
        ids = sorted(by_eligibility)
        for i, first in enumerate(ids):
            for second in ids[i + 1:]:
                a_list, b_list = by_eligibility[first], by_eligibility[second]
                if min(len(a_list), len(b_list)) < thresholds.min_samples:
                    continue

                def near(x, others):
                    return any(abs(x.start_at - o.start_at) <= TOGETHER for o in others)

                if all(near(a, b_list) for a in a_list) and all(near(b, a_list) for b in b_list):
                    a, b = a_list[0], b_list[0]
                    found.append(Recommendation(
                        key=f"{GROUP_TOGETHER}:{first}:{second}", kind=GROUP_TOGETHER, principal=str(a.principal),
                        title=f"{a.principal} always activates {a.role.name} at {a.scope.path} with {b.role.name} "
                              f"at {b.scope.path}",
                        detail=f"{len(a_list)} and {len(b_list)} activations in {days} days, each within "
                               f"{int(TOGETHER.total_seconds() // 60)} minutes of the other: a group holding both "
                               "roles, with eligible members, would take one activation.",
                        roles=[{"eligible_id": first, "role": a.role.name, "scope": a.scope.path},
                               {"eligible_id": second, "role": b.role.name, "scope": b.scope.path}]))
    return found


def make_eligible(*, now: datetime, thresholds: Thresholds = DEFAULTS, ids=None) -> list[Recommendation]:
    days = thresholds.days
    found = []
    standing = (_only(Assignment.objects.held_at(now), ids)
                .filter(kind=Assignment.Kind.ACTIVE, activated_from__isnull=True,
                        created_at__lt=now - timedelta(days=days), principal__enabled=True,
                        principal__kind__in=[Principal.Kind.USER, Principal.Kind.GROUP])
                .exclude(principal__user__is_emergency_access=True).exclude(origin=Assignment.Origin.DIRECTORY)
                .select_related("principal", "role", "scope").order_by("principal__display_name", "role__name"))
    for a in standing:
        found.append(Recommendation(
            key=f"{MAKE_ELIGIBLE}:{a.pk}", kind=MAKE_ELIGIBLE, assignment_id=a.pk, principal=str(a.principal),
            role=a.role.name, scope=a.scope.path,
            title=f"{a.principal} holds {a.role.name} at {a.scope.path} standing ({a.assignment_type_label.lower()})",
            detail=f"Active since {a.start_at:%Y-%m-%d} without activation: make it eligible so that it is held "
                   "only when activated."))
    return found


def recommendations_list(*, now: datetime | None = None, thresholds: Thresholds | None = None,
                         kinds: list[str] | None = None) -> list[Recommendation]:
    now = now or timezone.now()
    thresholds = thresholds or rightsizing_thresholds()
    makers = {UNUSED: unused_eligibility, LOWER_MAXIMUM: lower_maximum, GROUP_TOGETHER: group_together,
              MAKE_ELIGIBLE: make_eligible}
    return [r for kind, make in makers.items() if kinds is None or kind in kinds
            for r in make(now=now, thresholds=thresholds)]


def advice_for_assignments(*, assignment_ids, now: datetime | None = None) -> dict[int, list[str]]:
    """Assignment id → the right-sizing advice about it (for access review items): unused eligibility,
    standing access that could be eligible, and eligibilities always activated together (on both)."""
    wanted = set(assignment_ids)
    advice: dict[int, list[str]] = {}
    if not wanted:
        return advice
    now = now or timezone.now()
    thresholds = rightsizing_thresholds()
    for r in unused_eligibility(now=now, thresholds=thresholds, ids=wanted) + make_eligible(
            now=now, thresholds=thresholds, ids=wanted):
        advice.setdefault(r.assignment_id, []).append(f"{r.kind_label}: {r.detail}")
    for r in group_together(now=now, thresholds=thresholds):
        for pk in {role["eligible_id"] for role in r.roles} & wanted:
            advice.setdefault(pk, []).append(f"{r.kind_label}: {r.title}. {r.detail}")
    return advice


def rightsizing_apply(*, actor: User, key: str, justification: str = "",
                      mfa_verified_at: datetime | None = None):
    """Carry out the recommendation `key` through the ordinary service, if it still holds."""
    kind = key.split(":", 1)[0]
    if kind not in FIX_LABELS:
        raise invalid("That recommendation has no one-click fix.", field="key")
    current = {r.key: r for r in recommendations_list(kinds=[kind])}
    recommendation = current.get(key)
    if recommendation is None:
        raise not_found("That recommendation no longer holds (someone acted on it, or the history changed).")
    justification = (justification or "").strip() or f"Right-sizing: {recommendation.title}."
    actor = as_actor(actor).with_mfa_verified_at(mfa_verified_at)  # the services' step-up reads it
    with transaction.atomic():
        if kind == UNUSED:
            return assignment_remove(actor=actor, assignment=Assignment.objects.get(pk=recommendation.assignment_id),
                                     justification=justification)
        if kind == MAKE_ELIGIBLE:
            assignment = Assignment.objects.select_related("role", "scope").get(pk=recommendation.assignment_id)
            setting = role_setting_effective(role=assignment.role, scope=assignment.scope)
            end_at = None if setting.allow_permanent_eligible else timezone.now() + expiration_delta(
                setting.expire_eligible_after)
            return assignment_make_eligible(actor=actor, assignment=assignment, end_at=end_at,
                                            justification=justification)
        return role_setting_update(actor=actor, role=RoleDefinition.objects.get(pk=recommendation.setting["role_id"]),
                                   scope=Scope.objects.get(pk=recommendation.setting["scope_id"]),
                                   values={"max_activation_minutes": recommendation.setting["suggested"]})
