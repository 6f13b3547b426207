"""Reads of the alerts app: who may see and act on alerts, incidents, recipients, discovery of
standing privilege, the emergency access checks and the dashboard figures.

The dashboard and the list pages run a constant number of queries whatever the data size.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from approvals.models import Request
from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.access import access_find_permission_grant
from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, User
from core.errors import DomainError
from notifications.recipients import holders_emails
from reviews import selectors as review_selectors
from reviews.models import AccessReviewInstance

from . import definitions
from .models import AlertRun, AlertSetting, Incident, Severity

VIEW_ACTION = "pim.portal/alerts/read"
MANAGE_ACTION = "pim.portal/alerts/manage"


def _has_principal(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "principal")


def user_can_view_alerts(*, user) -> bool:
    """Global Administrator, Privileged Role Administrator, Security Administrator, Global Reader,
    Security Reader (their role permissions name `pim.portal/alerts/read`). One query."""
    return _has_principal(user) and access_find_permission_grant(
        principal=user.principal, action=VIEW_ACTION, scope="/") is not None


def user_can_manage_alerts(*, user) -> bool:
    """Resolve, dismiss and run alerts: Global Administrator, Privileged Role Administrator, Security
    Administrator. One query."""
    return _has_principal(user) and access_find_permission_grant(
        principal=user.principal, action=MANAGE_ACTION, scope="/") is not None


def user_is_directory_admin(*, user) -> bool:
    return assignment_selectors.user_holds_any(user=user, role_slugs=assignment_selectors.DIRECTORY_ADMIN_ROLES)


# --- Settings --------------------------------------------------------------------------------------


@dataclass
class AlertConfig:
    definition: definitions.AlertDefinition
    enabled: bool
    thresholds: dict
    last_run: AlertRun | None = None
    open_count: int = 0


def alert_configs() -> list[AlertConfig]:
    """Every alert of the catalogue with its effective settings, last run and open incidents (3 queries)."""
    stored = {s.key: s for s in AlertSetting.objects.all()}
    open_counts = dict(Incident.objects.filter(status=Incident.Status.OPEN).values("alert_key")
                       .annotate(n=Count("pk")).values_list("alert_key", "n"))
    last_runs: dict[str, AlertRun] = {}
    for run in AlertRun.objects.filter(pk__in=_latest_run_ids()).select_related("ran_by"):
        last_runs[run.alert_key] = run
    configs = []
    for definition in definitions.CATALOGUE:
        setting = stored.get(definition.key)
        configs.append(AlertConfig(
            definition=definition,
            enabled=setting.enabled if setting else True,
            thresholds={**definition.defaults(), **(setting.thresholds if setting else {})},
            last_run=last_runs.get(definition.key),
            open_count=open_counts.get(definition.key, 0),
        ))
    configs.sort(key=lambda c: (definitions.SEVERITY_ORDER[c.definition.severity], c.definition.name))
    return configs


def _latest_run_ids():
    from django.db.models import Max

    return AlertRun.objects.values("alert_key").annotate(last=Max("pk")).values("last")


def alert_config(*, key: str) -> AlertConfig | None:
    definition = definitions.definition_get(key)
    if definition is None:
        return None
    setting = AlertSetting.objects.filter(key=key).first()
    return AlertConfig(
        definition=definition,
        enabled=setting.enabled if setting else True,
        thresholds={**definition.defaults(), **(setting.thresholds if setting else {})},
        last_run=AlertRun.objects.filter(alert_key=key).select_related("ran_by").first(),
    )


# --- Incidents -------------------------------------------------------------------------------------


def incident_list(*, status: str | None = None, severity: str | None = None, alert_key: str | None = None
                  ) -> QuerySet[Incident]:
    qs = Incident.objects.select_related("principal", "role", "scope", "closed_by")
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if alert_key:
        qs = qs.filter(alert_key=alert_key)
    return qs


@dataclass
class IncidentGroup:
    key: str
    name: str
    incidents: list[Incident]


def incidents_by_alert(*, incidents) -> list[IncidentGroup]:
    """The incidents page: one group per alert, in the catalogue's order (severity first)."""
    by_key: dict[str, list[Incident]] = {}
    for incident in incidents:
        by_key.setdefault(incident.alert_key, []).append(incident)
    order = sorted(definitions.CATALOGUE, key=lambda d: (definitions.SEVERITY_ORDER.get(d.severity, 9), d.name))
    groups = [IncidentGroup(d.key, d.name, by_key.pop(d.key)) for d in order if d.key in by_key]
    return groups + [IncidentGroup(key, key, rows) for key, rows in by_key.items()]


def incident_get(*, pk: int) -> Incident | None:
    return incident_list().filter(pk=pk).first()


def incident_assignments(*, incident: Incident) -> list[Assignment]:
    """The affected assignments that still exist and are live, for the fix buttons (one query)."""
    ids = [row.get("assignment_id") for row in incident.affected if row.get("assignment_id")]
    return list(Assignment.objects.filter(pk__in=ids, status=Assignment.Status.LIVE)
                .select_related("principal", "principal__user", "role", "scope").order_by("principal__display_name"))


def admin_emails_for(*, role: RoleDefinition | None, scope: Scope | None, at: datetime | None = None) -> list[str]:
    """Email addresses of the administrators of `role` at `scope` (holders of
    `admin_roles_for(role)` at the scope or above, directly or through a group; emergency access
    accounts are never mailed). Without a role (directory-wide alerts): the Global Administrators and
    Privileged Role Administrators. One query."""
    slugs = (assignment_selectors.admin_roles_for(role=role) if role is not None
             else assignment_selectors.DIRECTORY_ADMIN_ROLES)
    return holders_emails(role_slugs=slugs, scope=scope if scope is not None else assignment_selectors.ROOT_PATH,
                          at=at)


# --- Discovery -------------------------------------------------------------------------------------


def privileged_assignments_visible_to(*, user, at: datetime | None = None) -> QuerySet[Assignment]:
    """Who holds privileged roles (eligible or active, permanent or not; activations excluded), among
    what `user` may see, ordered for grouping by role and scope."""
    at = at or timezone.now()
    return (Assignment.objects.filter(assignment_selectors.assignment_visibility_q(user=user))
            .not_over_at(at)
            .filter(role__is_privileged=True, activated_from__isnull=True)
            .select_related("principal", "principal__user", "role", "scope")
            .order_by("role__kind", "role__name", "scope__path", "kind", "principal__display_name"))


def permanent_active_visible_to(*, user, at: datetime | None = None) -> QuerySet[Assignment]:
    return privileged_assignments_visible_to(user=user, at=at).filter(kind=Assignment.Kind.ACTIVE, end_at__isnull=True)


@dataclass
class ConversionPlan:
    assignment: Assignment
    end_at: datetime | None
    problem: str = ""
    excluded: bool = False


def make_eligible_preview(*, actor, assignments: list[Assignment], at: datetime | None = None) -> list[ConversionPlan]:
    """What converting each assignment to eligible would do: the new end (the policy's limit when it
    forbids permanent eligibility), or why it would be refused. Reads only."""

    at = at or timezone.now()
    plans = []
    for a in assignments:
        user = getattr(a.principal, "user", None)
        if user is not None and user.is_emergency_access:
            plans.append(ConversionPlan(a, None, "Emergency access account: keeps its permanent active assignment.",
                                        excluded=True))
            continue
        setting = assignment_selectors.role_setting_effective(role=a.role, scope=a.scope)
        end_at = None if setting.allow_permanent_eligible else at + assignment_selectors.expiration_delta(
            setting.expire_eligible_after)
        problem = ""
        try:
            rules.check_actor_can_manage(actor=actor, role=a.role, scope=a.scope)
            rules.check_removal_age(assignment=a, now=at, verb="converted")
            rules.check_not_last_protected_admin(assignment=a, new_end=None)
        except DomainError as error:
            problem = error.message
        plans.append(ConversionPlan(a, end_at, problem))
    return plans


# --- Emergency access ------------------------------------------------------------------------------


@dataclass
class EmergencyAccount:
    user: User
    ga_assignment: Assignment | None
    problems: list[str]


@dataclass
class Check:
    label: str
    ok: bool
    detail: str


def emergency_access_report(*, at: datetime | None = None) -> tuple[list[EmergencyAccount], list[Check]]:
    """The emergency access accounts with their last sign-in and Global Administrator assignment, and
    the recommendations checked (DESIGN §2): at least two; each a permanent *active* Global
    Administrator held directly (so no activation, approval or MFA policy stands in the way); enabled."""
    at = at or timezone.now()
    users = list(User.objects.filter(is_emergency_access=True).select_related("principal").order_by("username"))
    ga_rows = (assignment_selectors.assignments_held_at(at=at)
               .filter(principal__user__in=users, kind=Assignment.Kind.ACTIVE,
                       role__slug=RoleDefinition.GLOBAL_ADMINISTRATOR, scope__path=assignment_selectors.ROOT_PATH)
               .select_related("role", "scope").order_by("end_at"))
    by_principal: dict[int, Assignment] = {}
    for a in ga_rows:
        current = by_principal.get(a.principal_id)
        if current is None or (current.end_at is not None and a.end_at is None):
            by_principal[a.principal_id] = a
    accounts = []
    for user in users:
        principal = getattr(user, "principal", None)
        ga = by_principal.get(principal.pk) if principal else None
        problems = []
        if not user.is_active or (principal and not principal.enabled):
            problems.append("The account is disabled.")
        if ga is None:
            problems.append("Does not hold an active Global Administrator assignment.")
        elif ga.end_at is not None:
            problems.append(f"Global Administrator is time-bound (ends {ga.end_at:%Y-%m-%d %H:%M} UTC), not permanent.")
        if not user.has_usable_password():
            problems.append("Has no password: it depends on single sign-on, which may be what is down.")
        accounts.append(EmergencyAccount(user, ga, problems))
    healthy = [a for a in accounts if not a.problems]
    checks = [
        Check("At least two emergency access accounts", len(accounts) >= 2,
              f"{len(accounts)} account(s) are marked as emergency access."),
        Check("Each holds Global Administrator as a permanent active assignment",
              bool(accounts) and all(a.ga_assignment is not None and a.ga_assignment.end_at is None for a in accounts),
              "A permanent active assignment needs no activation, so no approval or MFA policy can lock the "
              "account out."),
        Check("Excluded from approval and MFA requirements",
              bool(accounts) and all(a.ga_assignment is not None for a in accounts),
              "Held directly as an active assignment (not eligible), the role applies without activation: the "
              "role's approval and MFA-on-activation rules never apply to these accounts."),
        Check("Enabled and usable", bool(accounts) and len(healthy) == len(accounts),
              f"{len(healthy)} of {len(accounts)} account(s) meet every recommendation."),
    ]
    return accounts, checks


# --- Dashboard -------------------------------------------------------------------------------------

TYPE_LABELS = [
    ("eligible", True, "Permanent eligible"),
    ("eligible", False, "Time-bound eligible"),
    ("active", True, "Permanent active"),
    ("active", False, "Time-bound active"),
]


def _reviews_in_progress(*, user) -> int:
    """Access review instances in progress among the reviews `user` may see, through the reviews
    app's own visibility selector (2 queries)."""
    return AccessReviewInstance.objects.filter(
        status=AccessReviewInstance.Status.IN_PROGRESS,
        review__in=review_selectors.reviews_visible_to(user=user).order_by().values("pk")).count()


@dataclass
class Dashboard:
    by_role_kind: list[dict]
    by_type: list[tuple[str, int]]
    totals: dict
    pending_approvals: int
    incidents_by_severity: list[tuple[str, str, int]]
    recent_incidents: list[Incident]
    reviews_in_progress: int | None
    activations_per_day: list[tuple[str, int]]
    top_roles: list[tuple[str, int]]
    can_view_alerts: bool


def dashboard_for(*, user, at: datetime | None = None) -> Dashboard:
    """The administrators' overview, over the assignments `user` may see. A constant number of
    queries: one grouped count by role kind and type, one for pending approvals, one per chart,
    two for incidents (directory viewers only), one for reviews when that app answers.

    Visibility is the condition itself on each query (`assignment_visibility_q`, `q_through`), never
    `pk__in` a subquery of visible ids: that form took minutes for an Owner at `/` at 1 M assignments."""
    at = at or timezone.now()
    visible = assignment_selectors.assignment_visibility_q(user=user)
    current = assignment_selectors.assignments_held_at(at=at).filter(visible)

    rows = list(current.values("role__kind", "kind")
                .annotate(total=Count("pk"), permanent=Count("pk", filter=Q(end_at__isnull=True))))
    kinds = {value: {"label": label, "eligible": 0, "active": 0, "permanent": 0}
             for value, label in RoleDefinition.Kind.choices}
    by_type_counts = {(k, p): 0 for k, p, _ in TYPE_LABELS}
    for row in rows:
        bucket = kinds.setdefault(row["role__kind"], {"label": row["role__kind"], "eligible": 0, "active": 0,
                                                      "permanent": 0})
        bucket[row["kind"]] += row["total"]
        bucket["permanent"] += row["permanent"]
        by_type_counts[(row["kind"], True)] += row["permanent"]
        by_type_counts[(row["kind"], False)] += row["total"] - row["permanent"]
    totals = {
        "eligible": sum(b["eligible"] for b in kinds.values()),
        "active": sum(b["active"] for b in kinds.values()),
        "permanent": sum(b["permanent"] for b in kinds.values()),
    }

    pending = Request.objects.filter(status=Request.Status.PENDING_APPROVAL).filter(
        assignment_selectors.q_through(visible, "eligible_assignment__")
        | assignment_selectors.q_through(visible, "assignment__")).count()

    start_day = (at - timedelta(days=29)).date()
    since = timezone.make_aware(datetime.combine(start_day, datetime.min.time()))
    per_day = dict(Assignment.objects.filter(visible, activated_from__isnull=False,
                                             start_at__gte=since, start_at__lte=at)
                   .annotate(day=TruncDate("start_at")).values("day").annotate(n=Count("pk")).values_list("day", "n"))
    days = [start_day + timedelta(days=i) for i in range(30)]
    activations = [(d.strftime("%m-%d"), per_day.get(d, 0)) for d in days]

    top = list(current.filter(activated_from__isnull=True).values("role__name")
               .annotate(holders=Count("principal", distinct=True)).order_by("-holders", "role__name")[:8]
               .values_list("role__name", "holders"))

    can_view = user_can_view_alerts(user=user)
    by_severity: list[tuple[str, str, int]] = []
    recent: list[Incident] = []
    if can_view:
        counts = dict(Incident.objects.filter(status=Incident.Status.OPEN).values("severity")
                      .annotate(n=Count("pk")).values_list("severity", "n"))
        by_severity = [(value, label, counts.get(value, 0)) for value, label in Severity.choices]
        rank = Case(*[When(severity=value, then=Value(order)) for value, order in definitions.SEVERITY_ORDER.items()],
                    default=Value(9), output_field=IntegerField())
        recent = list(incident_list(status=Incident.Status.OPEN).annotate(rank=rank)
                      .order_by("rank", "-first_seen_at", "-pk")[:5])

    return Dashboard(
        by_role_kind=[{"kind": k, **v} for k, v in kinds.items()],
        by_type=[(label, by_type_counts[(k, p)]) for k, p, label in TYPE_LABELS],
        totals=totals,
        pending_approvals=pending,
        incidents_by_severity=by_severity,
        recent_incidents=recent,
        reviews_in_progress=_reviews_in_progress(user=user),
        activations_per_day=activations,
        top_roles=top,
        can_view_alerts=can_view,
    )


@dataclass
class PersonalDashboard:
    active: list[Assignment]
    eligible: list[Assignment]
    pending_requests: int
    expiring_soon: list[Assignment]
    activations_per_day: list[tuple[str, int]]


def personal_dashboard_for(*, user, at: datetime | None = None) -> PersonalDashboard:
    """A requester's own overview (3 queries): what they hold, what waits, what ends soon, their
    activations over 30 days."""
    at = at or timezone.now()
    principal = getattr(user, "principal", None)
    if principal is None:  # e.g. a superuser made with createsuperuser: no directory identity, nothing held
        return PersonalDashboard([], [], 0, [], [])
    mine = list(Assignment.objects.filter(principal=principal, status=Assignment.Status.LIVE)
                .select_related("role", "scope").order_by("kind", "role__name"))
    active = [a for a in mine if a.kind == Assignment.Kind.ACTIVE and a.is_held_at(at)]
    eligible = [a for a in mine if a.kind == Assignment.Kind.ELIGIBLE and a.is_held_at(at)]
    soon = at + timedelta(days=14)
    expiring = sorted([a for a in mine if a.end_at is not None and at < a.end_at <= soon and not a.is_activation],
                      key=lambda a: a.end_at)
    pending = Request.objects.filter(requested_by=user, status=Request.Status.PENDING_APPROVAL).count()
    start_day = (at - timedelta(days=29)).date()
    since = timezone.make_aware(datetime.combine(start_day, datetime.min.time()))
    per_day = dict(Assignment.objects.filter(principal=principal, activated_from__isnull=False,
                                             start_at__gte=since, start_at__lte=at)
                   .annotate(day=TruncDate("start_at")).values("day").annotate(n=Count("pk")).values_list("day", "n"))
    activations = [((start_day + timedelta(days=i)).strftime("%m-%d"), per_day.get(start_day + timedelta(days=i), 0))
                   for i in range(30)]
    return PersonalDashboard(active, eligible, pending, expiring, activations)


def role_settings_requiring_approval() -> QuerySet[RoleSetting]:
    return RoleSetting.objects.filter(require_approval=True).select_related("role", "scope")


def approver_candidates(*, text: str = "") -> QuerySet[Principal]:
    return assignment_selectors.principal_search(text=text, kinds=[Principal.Kind.USER, Principal.Kind.GROUP],
                                                 limit=200)
