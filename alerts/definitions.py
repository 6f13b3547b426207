"""The alert catalogue (DESIGN §3 "Security alerts"): what each alert means, how to fix it, its
thresholds with their defaults, and the evaluator that finds its incidents in the current state.

Evaluators only read. Each returns `Finding`s, one per subject; `alerts.services.alerts_evaluate`
turns them into incidents (opening new ones, refreshing current ones, clearing the rest). Every
evaluator runs a constant number of queries whatever the data size.
"""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q

from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope
from assignments.selectors import assignments_held_at
from governance.separation import conflicts_existing

from .models import Severity

# Fix actions an incident can offer in place (each through the ordinary services).
FIX_REMOVE = "remove_assignment"
FIX_MAKE_ELIGIBLE = "make_eligible"
FIX_REQUIRE_MFA = "require_mfa"
FIX_ADD_APPROVERS = "add_approvers"


@dataclass(frozen=True)
class Threshold:
    name: str
    label: str
    default: int
    minimum: int
    maximum: int
    unit: str = ""


@dataclass
class Finding:
    subject_key: str
    title: str
    detail: str = ""
    principal: Principal | None = None
    role: RoleDefinition | None = None
    scope: Scope | None = None
    affected: list[dict] = field(default_factory=list)
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AlertDefinition:
    key: str
    name: str
    severity: str
    description: str
    how_to_fix: str
    prevention: str
    thresholds: tuple[Threshold, ...] = ()
    fixes: tuple[str, ...] = ()
    evaluate: Callable[[dict, datetime], list[Finding]] | None = None
    event_based: bool = False  # raised by an event (a sign-in), never by an evaluation
    raised_by: str = "On every sign-in"  # what raises an event-based alert, as the alerts list says

    def defaults(self) -> dict:
        return {t.name: t.default for t in self.thresholds}


def _standing(now: datetime):
    """Live assignments in effect now, activations excluded (they are the use of an eligibility)."""
    return _standing_rows(now).select_related("principal", "role", "scope")


def _standing_rows(now: datetime):
    return assignments_held_at(at=now).filter(activated_from__isnull=True, principal__enabled=True)


def affected_row(assignment: Assignment) -> dict:
    return {
        "assignment_id": assignment.pk,
        "principal_id": assignment.principal_id,
        "principal": str(assignment.principal),
        "role": assignment.role.name,
        "scope": assignment.scope.path,
        "kind": assignment.kind,
        "permanent": assignment.end_at is None,
        "type": assignment.assignment_type_label,
    }


# --- Evaluators ------------------------------------------------------------------------------------


def too_many_global_admins(thresholds: dict, now: datetime) -> list[Finding]:
    ga = RoleDefinition.objects.filter(slug=RoleDefinition.GLOBAL_ADMINISTRATOR).first()
    if ga is None:
        return []
    standing = list(_standing(now).filter(role=ga).order_by("principal__display_name"))
    total = _standing_rows(now).count()
    holders = {a.principal_id for a in standing}
    share = (100 * len(standing) / total) if total else 0
    if len(holders) >= thresholds["min_count"] and share >= thresholds["min_percent"]:
        return [Finding(
            subject_key=f"role:{ga.pk}",
            title=f"{len(holders)} Global Administrators ({share:.0f}% of all assignments)",
            detail=(f"{len(holders)} principals hold Global Administrator; the alert fires at "
                    f"{thresholds['min_count']} or more when they make {thresholds['min_percent']}% or more of "
                    f"all {total} assignments."),
            role=ga, scope=standing[0].scope,
            affected=[affected_row(a) for a in standing],
            data={"count": len(holders), "percent": round(share, 1), "total": total},
        )]
    return []


# Findings contributed by higher apps (connectors: what reconciliation read back from the targets), by
# alert key. Registered once at start-up (their AppConfig.ready); alerts never imports them.
_sources: dict[str, list[Callable[[dict, datetime], list[Finding]]]] = {}


def findings_source_register(key: str, source: Callable[[dict, datetime], list[Finding]]) -> None:
    """Add `source(thresholds, now) -> [Finding]` to the evaluation of alert `key`."""
    if source not in _sources.setdefault(key, []):
        _sources[key].append(source)


def _from_sources(key: str, thresholds: dict, now: datetime) -> list[Finding]:
    return [finding for source in _sources.get(key, []) for finding in source(thresholds, now)]


# Fixes contributed by higher apps for an incident's page (connectors: revoke in the target, adopt,
# grant again), by alert key. `panel(incident, user)` returns (template name, context) to include on the
# incident page, or None when it has nothing to offer this user. Registered in their AppConfig.ready.
_panels: dict[str, list[Callable]] = {}


def incident_panel_register(key: str, panel: Callable) -> None:
    if panel not in _panels.setdefault(key, []):
        _panels[key].append(panel)


def incident_panels(incident, user) -> list[tuple[str, dict]]:
    found = []
    for panel in _panels.get(incident.alert_key, []):
        shown = panel(incident, user)
        if shown is not None:
            found.append(shown)
    return found


def roles_assigned_outside_pim(thresholds: dict, now: datetime) -> list[Finding]:
    """Assignments made outside the request pipeline, and grants found in target systems that PIM did
    not make (connectors' reconciliation: the target is the truth)."""
    since = now - timedelta(days=thresholds["days"])
    findings = _from_sources("roles_assigned_outside_pim", thresholds, now)
    for a in _standing(now).filter(origin=Assignment.Origin.OUTSIDE, created_at__gte=since).order_by("created_at"):
        findings.append(Finding(
            subject_key=f"assignment:{a.pk}",
            title=f"{a.principal} was given {a.role.name} at {a.scope.path} outside PIM",
            detail=(f"Created {a.created_at:%Y-%m-%d %H:%M} UTC outside the PIM request pipeline "
                    f"({a.assignment_type_label})."),
            principal=a.principal, role=a.role, scope=a.scope, affected=[affected_row(a)],
        ))
    return findings


def roles_without_mfa(thresholds: dict, now: datetime) -> list[Finding]:
    findings = []
    settings_qs = (RoleSetting.objects.filter(role__is_privileged=True, require_mfa_on_activation=False)
                   .select_related("role", "scope").order_by("role__name", "scope__path"))
    for setting in settings_qs:
        findings.append(Finding(
            subject_key=f"setting:{setting.role_id}:{setting.scope_id}",
            title=f"{setting.role.name} at {setting.scope.path} can be activated without MFA",
            detail="The role is privileged and its policy does not require multifactor authentication on activation.",
            role=setting.role, scope=setting.scope, data={"setting_id": setting.pk},
        ))
    return findings


def roles_activated_too_frequently(thresholds: dict, now: datetime) -> list[Finding]:
    since = now - timedelta(hours=thresholds["window_hours"])
    rows = (Assignment.objects.filter(activated_from__isnull=False, start_at__gte=since, start_at__lte=now)
            .values("principal_id", "role_id").annotate(n=Count("pk"), last=Max("start_at"))
            .filter(n__gte=thresholds["min_activations"]).order_by("-n"))
    rows = list(rows)
    principals = Principal.objects.in_bulk([r["principal_id"] for r in rows])
    roles = RoleDefinition.objects.in_bulk([r["role_id"] for r in rows])
    findings = []
    for r in rows:
        principal, role = principals[r["principal_id"]], roles[r["role_id"]]
        findings.append(Finding(
            subject_key=f"principal:{principal.pk}:role:{role.pk}",
            title=f"{principal} activated {role.name} {r['n']} times in {thresholds['window_hours']} hours",
            detail=("Activating the same role again and again suggests the maximum activation duration is too short, "
                    "or that the account is being misused."),
            principal=principal, role=role, data={"activations": r["n"]},
        ))
    return findings


def stale_accounts_in_privileged_roles(thresholds: dict, now: datetime) -> list[Finding]:
    cutoff = now - timedelta(days=thresholds["days"])
    standing = list(
        _standing(now).filter(role__is_privileged=True, principal__kind=Principal.Kind.USER,
                              principal__user__is_emergency_access=False)
        .filter(Q(principal__user__last_login__lt=cutoff)
                | Q(principal__user__last_login__isnull=True, principal__user__date_joined__lt=cutoff))
        .select_related("principal__user").order_by("principal__display_name", "role__name")
    )
    by_principal: dict[int, list[Assignment]] = defaultdict(list)
    for a in standing:
        by_principal[a.principal_id].append(a)
    findings = []
    for assignments in by_principal.values():
        principal = assignments[0].principal
        last = principal.user.last_login
        seen = f"last signed in {last:%Y-%m-%d}" if last else "has never signed in"
        findings.append(Finding(
            subject_key=f"principal:{principal.pk}",
            title=f"{principal} {seen} and holds {len(assignments)} privileged role assignment(s)",
            detail=f"No sign-in for {thresholds['days']} days or more while holding privileged roles.",
            principal=principal, affected=[affected_row(a) for a in assignments],
            data={"last_login": last.isoformat() if last else None},
        ))
    return findings


def admins_not_using_roles(thresholds: dict, now: datetime) -> list[Finding]:
    cutoff = now - timedelta(days=thresholds["days"])
    eligible = list(_standing(now).filter(role__is_privileged=True, kind=Assignment.Kind.ELIGIBLE,
                                          created_at__lt=cutoff).order_by("principal__display_name"))
    used = set(Assignment.objects.filter(activated_from__isnull=False, start_at__gte=cutoff)
               .values_list("principal_id", "role_id").distinct())
    findings = []
    for a in eligible:
        if (a.principal_id, a.role_id) in used:
            continue
        findings.append(Finding(
            subject_key=f"assignment:{a.pk}",
            title=f"{a.principal} has not activated {a.role.name} in {thresholds['days']} days",
            detail=(f"Eligible at {a.scope.path} since {a.created_at:%Y-%m-%d}, with no activation since "
                    f"{cutoff:%Y-%m-%d}."),
            principal=a.principal, role=a.role, scope=a.scope, affected=[affected_row(a)],
        ))
    return findings


def _owners_at_scopes(now: datetime, *, permanent_only: bool):
    qs = _standing(now).filter(role__slug=RoleDefinition.OWNER).exclude(scope__kind=Scope.Kind.GROUP)
    if permanent_only:
        qs = qs.filter(kind=Assignment.Kind.ACTIVE, end_at__isnull=True)
    by_scope: dict[int, list[Assignment]] = defaultdict(list)
    for a in qs.order_by("scope__path", "principal__display_name"):
        by_scope[a.scope_id].append(a)
    return by_scope


def too_many_owners(thresholds: dict, now: datetime) -> list[Finding]:
    findings = []
    for assignments in _owners_at_scopes(now, permanent_only=False).values():
        if len(assignments) >= thresholds["max_owners"]:
            scope = assignments[0].scope
            findings.append(Finding(
                subject_key=f"scope:{scope.pk}",
                title=f"{len(assignments)} Owners at {scope.path}",
                detail=f"The alert fires at {thresholds['max_owners']} or more Owner assignments on one resource.",
                role=assignments[0].role, scope=scope, affected=[affected_row(a) for a in assignments],
            ))
    return findings


def too_many_permanent_owners(thresholds: dict, now: datetime) -> list[Finding]:
    findings = []
    for assignments in _owners_at_scopes(now, permanent_only=True).values():
        if len(assignments) >= thresholds["max_permanent_owners"]:
            scope = assignments[0].scope
            findings.append(Finding(
                subject_key=f"scope:{scope.pk}",
                title=f"{len(assignments)} permanent Owners at {scope.path}",
                detail=(f"The alert fires at {thresholds['max_permanent_owners']} or more permanent active Owner "
                        f"assignments on one resource."),
                role=assignments[0].role, scope=scope, affected=[affected_row(a) for a in assignments],
            ))
    return findings


def fewer_than_two_approvers(thresholds: dict, now: datetime) -> list[Finding]:
    qs = (RoleSetting.objects.filter(require_approval=True).select_related("role", "scope")
          .annotate(n_approvers=Count("approvers")).filter(n_approvers__lt=thresholds["min_approvers"])
          .order_by("role__name", "scope__path"))
    findings = []
    for setting in qs:
        findings.append(Finding(
            subject_key=f"setting:{setting.role_id}:{setting.scope_id}",
            title=f"{setting.role.name} at {setting.scope.path} requires approval with {setting.n_approvers} named "
                  f"approver(s)",
            detail=(f"Name at least {thresholds['min_approvers']} approvers so that a request never waits on one "
                    f"person (with none named, the role's administrators decide)."),
            role=setting.role, scope=setting.scope, data={"setting_id": setting.pk, "approvers": setting.n_approvers},
        ))
    return findings


def separation_of_duties_conflicts(thresholds: dict, now: datetime) -> list[Finding]:
    """Principals combining roles of a separation-of-duties conflict set now (governance.separation)."""
    return [Finding(
        subject_key=found.subject_key,
        title=f"{found.principal} combines roles of the conflict set {found.conflict_set.name}",
        detail=("Holds or is eligible for " + ", ".join(f"{a.role.name} at {a.scope.path}" for a in found.assignments)
                + f" ({found.conflict_set.get_mode_display().lower()} set), with no live exception."),
        principal=found.principal, affected=[affected_row(a) for a in found.assignments],
        data={"conflict_set_id": found.conflict_set.pk},
    ) for found in conflicts_existing(at=now)]


# --- The catalogue -----------------------------------------------------------------------------------

EMERGENCY_SIGN_IN = "emergency_access_sign_in"
DIRECTORY_SYNC_REFUSED = "directory_sync_refused"
BREAK_GLASS_ACTIVATION = "break_glass_activation"
BREAK_GLASS_REVIEW_OVERDUE = "break_glass_review_overdue"

CATALOGUE: tuple[AlertDefinition, ...] = (
    AlertDefinition(
        key=EMERGENCY_SIGN_IN, name="Emergency access account signed in", severity=Severity.HIGH,
        description="An emergency access (break-glass) account signed in. These accounts exist for emergencies only; "
                    "every use must be explained.",
        how_to_fix="Find out who used the account and why. If the use was not planned, reset its password and review "
                   "the audit log for what was done with it.",
        prevention="Keep the credentials of emergency access accounts sealed and monitored.",
        event_based=True,
    ),
    AlertDefinition(
        key=DIRECTORY_SYNC_REFUSED, name="Directory sync failed or was refused", severity=Severity.HIGH,
        description="A run of an LDAP / Active Directory source failed, or read implausibly few entries and was "
                    "refused. Nothing was changed, so the portal's users and memberships are as of the last "
                    "successful run: people who left or were disabled in the directory still hold what they held.",
        how_to_fix="Open the source's runs page for the error. Fix the connection, the bind account or the base "
                   "DNs and run it again; if the directory really shrank, lower the source's minimum share of "
                   "entries for one run. The incident clears at the next successful run.",
        prevention="Give the bind account read access to the whole base DN and keep its password current.",
        event_based=True, raised_by="On a failed or refused directory sync",
    ),
    AlertDefinition(
        key=BREAK_GLASS_ACTIVATION, name="Break-glass activation", severity=Severity.HIGH,
        description="Someone activated a role that needs approval by approving it themselves, in an emergency, "
                    "as the role's request rules allow. Its post-hoc review opened at once.",
        how_to_fix="Read the reason, confirm the emergency with the person, and complete the post-hoc review: "
                   "justified, or not (which ends the activation).",
        prevention="Allow break-glass only on roles that need it; keep approvers reachable.",
        event_based=True, raised_by="On every break-glass activation",
    ),
    AlertDefinition(
        key=BREAK_GLASS_REVIEW_OVERDUE, name="Break-glass review overdue", severity=Severity.HIGH,
        description="The post-hoc review of a break-glass activation was not completed in the hours its policy "
                    "gives.",
        how_to_fix="Complete the review now: find out why the role was needed and whether it was justified.",
        prevention="Name administrators who complete break-glass reviews promptly.",
        event_based=True, raised_by="When a break-glass review is overdue",
    ),
    AlertDefinition(
        key="roles_assigned_outside_pim", name="Roles are being assigned outside PIM", severity=Severity.HIGH,
        description="Assignments made outside the PIM request pipeline (Django admin, direct imports) bypass "
                    "policies, approvals and notifications.",
        how_to_fix="Review each assignment and remove the ones nobody asked for through PIM.",
        prevention="Make every assignment through PIM; restrict direct database and admin-site access.",
        thresholds=(Threshold("days", "Look back (days)", 30, 1, 365, "days"),),
        fixes=(FIX_REMOVE,), evaluate=roles_assigned_outside_pim,
    ),
    AlertDefinition(
        key="stale_accounts_in_privileged_roles", name="Potential stale accounts in privileged roles",
        severity=Severity.MEDIUM,
        description="Accounts that have not signed in for a long time but hold privileged roles are easy targets "
                    "that nobody would notice being used.",
        how_to_fix="Remove the privileged role assignments of accounts that are no longer used, or disable them.",
        prevention="Run access reviews of privileged roles regularly.",
        thresholds=(Threshold("days", "No sign-in for (days)", 90, 1, 365, "days"),),
        fixes=(FIX_REMOVE,), evaluate=stale_accounts_in_privileged_roles,
    ),
    AlertDefinition(
        key="too_many_owners", name="Too many owners assigned to a resource", severity=Severity.MEDIUM,
        description="Every Owner of a resource can change it and grant access to it.",
        how_to_fix="Review the Owners and reassign some to less privileged roles.",
        prevention="Grant Owner sparingly, as eligible assignments.",
        thresholds=(Threshold("max_owners", "Owners on one resource", 3, 1, 1000),),
        fixes=(FIX_REMOVE, FIX_MAKE_ELIGIBLE), evaluate=too_many_owners,
    ),
    AlertDefinition(
        key="too_many_permanent_owners", name="Too many permanent owners assigned to a resource",
        severity=Severity.MEDIUM,
        description="Permanent active Owners hold standing privilege on the resource all the time.",
        how_to_fix="Convert permanent Owners to eligible so that they activate the role when they need it.",
        prevention="Assign Owner as eligible; keep permanent active assignments for emergency access only.",
        thresholds=(Threshold("max_permanent_owners", "Permanent Owners on one resource", 2, 1, 1000),),
        fixes=(FIX_MAKE_ELIGIBLE, FIX_REMOVE), evaluate=too_many_permanent_owners,
    ),
    AlertDefinition(
        key="fewer_than_two_approvers", name="Roles requiring approval have fewer than two approvers",
        severity=Severity.MEDIUM,
        description="With a single approver, requests wait whenever that person is away, and one person controls "
                    "who gets the role.",
        how_to_fix="Name at least two approvers in the role's settings.",
        prevention="Name two or more approvers whenever approval is turned on.",
        thresholds=(Threshold("min_approvers", "Minimum named approvers", 2, 1, 20),),
        fixes=(FIX_ADD_APPROVERS,), evaluate=fewer_than_two_approvers,
    ),
    AlertDefinition(
        key="too_many_global_admins", name="There are too many Global Administrators", severity=Severity.LOW,
        description="Every Global Administrator can change everything in the directory, including who else is one.",
        how_to_fix="Remove Global Administrator from people who don't need it, or convert them to eligible.",
        prevention="Assign narrower roles; keep Global Administrator eligible, not permanent.",
        thresholds=(Threshold("min_count", "Global Administrators (at least)", 3, 1, 1000),
                    Threshold("min_percent", "Share of all assignments (at least, %)", 10, 0, 100, "%")),
        fixes=(FIX_REMOVE, FIX_MAKE_ELIGIBLE), evaluate=too_many_global_admins,
    ),
    AlertDefinition(
        key="roles_without_mfa", name="Roles don't require MFA on activation", severity=Severity.LOW,
        description="Without multifactor authentication, a stolen password is enough to activate a privileged role.",
        how_to_fix="Require MFA on activation in the role's settings.",
        prevention="Require MFA on activation for every privileged role.",
        fixes=(FIX_REQUIRE_MFA,), evaluate=roles_without_mfa,
    ),
    AlertDefinition(
        key="roles_activated_too_frequently", name="Roles are being activated too frequently",
        severity=Severity.LOW,
        description="The same user activating the same role many times in a short window: the maximum duration may be "
                    "too short, or the account is being misused.",
        how_to_fix="Ask the user why; lengthen the role's maximum activation duration if the work needs it.",
        prevention="Set a maximum activation duration that fits the work.",
        thresholds=(Threshold("min_activations", "Activations (at least)", 3, 2, 100),
                    Threshold("window_hours", "Within (hours)", 24, 1, 24 * 30, "hours")),
        evaluate=roles_activated_too_frequently,
    ),
    AlertDefinition(
        key="admins_not_using_roles", name="Administrators aren't using their privileged roles",
        severity=Severity.LOW,
        description="Eligible privileged assignments nobody activates are standing risk with no benefit.",
        how_to_fix="Remove the eligible assignments people don't use.",
        prevention="Run access reviews; their recommendation flags eligible assignments with no activation.",
        thresholds=(Threshold("days", "No activation for (days)", 30, 1, 365, "days"),),
        fixes=(FIX_REMOVE,), evaluate=admins_not_using_roles,
    ),
)

CATALOGUE += (
    AlertDefinition(
        key="separation_of_duties", name="Separation of duties is violated", severity=Severity.HIGH,
        description="Someone holds or is eligible for two roles of a conflict set (e.g. payments approver and "
                    "payments submitter) at overlapping scopes: one person could carry out and approve the same work.",
        how_to_fix="Remove one of the conflicting assignments, or, where the combination is accepted, grant an "
                   "exception with a justification and an end date on the separation-of-duties page.",
        prevention="Keep conflict sets in refuse mode so that such assignments are refused when they are made.",
        fixes=(FIX_REMOVE,), evaluate=separation_of_duties_conflicts,
    ),
    AlertDefinition(
        key="connector_drift", name="Target systems differ from PIM", severity=Severity.HIGH,
        description="Reconciliation read a connected system (LDAP group, PostgreSQL role) and found a grant PIM "
                    "does not account for, a grant missing while PIM says it is active, or one still present after "
                    "its end.",
        how_to_fix="Open the target's drift page: revoke the grant in the target, adopt it into PIM as eligible, "
                   "or grant it again.",
        prevention="Grant these groups and roles only through PIM; limit who can edit them in the target.",
        evaluate=lambda thresholds, now: _from_sources("connector_drift", thresholds, now),
    ),
    AlertDefinition(
        key="connector_effects_overdue", name="Revokes not confirmed by a target", severity=Severity.HIGH,
        description="A target system has not confirmed the end of a role for longer than the threshold (it is "
                    "unreachable or refuses the change): the person may still hold the grant there.",
        how_to_fix="Restore the connection or fix the target's settings; the revoke is retried until it succeeds.",
        prevention="Monitor the targets' status; keep their credentials current.",
        thresholds=(Threshold("minutes", "Unconfirmed for (minutes)", 30, 1, 10080, "minutes"),),
        evaluate=lambda thresholds, now: _from_sources("connector_effects_overdue", thresholds, now),
    ),
)

BY_KEY = {definition.key: definition for definition in CATALOGUE}
SEVERITY_ORDER = {Severity.HIGH: 0, Severity.MEDIUM: 1, Severity.LOW: 2}


def definition_get(key: str) -> AlertDefinition | None:
    return BY_KEY.get(key)
