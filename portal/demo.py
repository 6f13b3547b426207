"""A believable demo organisation, loaded idempotently (a second run adds nothing).

Contoso-style: ~50 people, groups (some role-assignable), two management groups, three
subscriptions with resource groups and resources, eligible and active assignments of every type,
and a month of past activations.
"""

import random
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from approvals.models import ApprovalDecision, Request
from assignments import selectors, services
from assignments.catalogue import CRITICAL_SUBSCRIPTION_OWNER_POLICY, LESS_CRITICAL_UAA_POLICY
from assignments.models import Assignment, Principal, RoleDefinition, Scope, User
from audit.services import audit_event_record
from core.actors import Actor
from notifications.outbox import outbox_suppressed

DEMO_PASSWORD = "pim-demo-password"
DEMO_LOGINS = [
    ("alice", "Alice Andersen", "requester: eligible for Security Administrator (needs MFA + approval), "
                                "Exchange Administrator (MFA) and Helpdesk Administrator (ticket)"),
    ("bob", "Bob Brennan", "approver: named approver for Security Administrator; Owner of the production subscription"),
    ("carol", "Carol Chen", "administrator: active Privileged Role Administrator"),
    ("dave", "Dave Dubois", "auditor: active Global Reader and Security Reader"),
]
FIRST = ["Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Karl", "Liam", "Mallory", "Nina", "Oscar", "Peggy",
         "Quinn", "Rupert", "Sybil", "Trent", "Uma", "Victor", "Wendy", "Xavier", "Yara", "Zoe", "Aaron", "Bella",
         "Chris", "Dana", "Eli", "Fiona", "Gus", "Hana", "Iris", "Jon", "Kira", "Leo", "Mona", "Ned", "Olga",
         "Paul", "Rita", "Sam", "Tara", "Ugo", "Vera", "Will", "Yusuf", "Zack"]
LAST = ["Smith", "Garcia", "Müller", "Rossi", "Novak", "Kim", "Okafor", "Silva", "Dubois", "Jensen", "Tanaka"]


DEMO = Actor.system("demo-load")


def _scope(path: str, kind: str, name: str, parent: Scope) -> Scope:
    return Scope.objects.filter(path=path).first() or services.scope_create(
        path=path, kind=kind, display_name=name, parent=parent, actor=DEMO)


_demo_password_hash: list[str] = []


def _user(username: str, display: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = services.user_create(username=username, display_name=display, email=f"{username}@contoso.example",
                                    actor=DEMO)
        if not _demo_password_hash:  # hashing is deliberately slow: do it once for all demo users
            _demo_password_hash.append(make_password(DEMO_PASSWORD))
        User.objects.filter(pk=user.pk).update(password=_demo_password_hash[0])
    return user


def _assign(principal, role, scope, kind, *, start=None, end=None, why="Demo data"):
    exists = Assignment.objects.filter(principal=principal, role=role, scope=scope, kind=kind,
                                       status=Assignment.Status.LIVE).exists()
    if not exists:
        services.assignment_create(actor=DEMO, principal=principal, role=role, scope=scope, kind=kind,
                                   start_at=start, end_at=end, justification=why)


def demo_load() -> list[tuple[str, str, str]]:
    """Load the demo organisation. Returns the demo logins (username, password, what they show).

    The changes are audited as they happen, but the emails they queue (about 170: every assignment
    of 50 people) are recorded as not sent: nobody is told about an organisation made up now."""
    rnd = random.Random(2026)  # deterministic content
    now = timezone.now()
    roles = {r.slug: r for r in RoleDefinition.objects.all()}
    root = selectors.scope_root()
    with outbox_suppressed("demo data"), transaction.atomic():
        named = {username: _user(username, display) for username, display, _ in DEMO_LOGINS}
        people = [_user(f"{f.lower()}.{rnd.choice(LAST).lower()}", f"{f} {rnd.choice(LAST)}") for f in FIRST]
        people = list(User.objects.filter(pk__in=[u.pk for u in people]))

        # Resource hierarchy.
        mg_root = _scope("/providers/Microsoft.Management/managementGroups/contoso", Scope.Kind.MANAGEMENT_GROUP,
                         "Contoso", root)
        mg_prod = _scope("/providers/Microsoft.Management/managementGroups/contoso-prod",
                         Scope.Kind.MANAGEMENT_GROUP, "Production", mg_root)
        mg_dev = _scope("/providers/Microsoft.Management/managementGroups/contoso-dev",
                        Scope.Kind.MANAGEMENT_GROUP, "Development", mg_root)
        subs = {}
        for sub_id, name, parent in [("prod-0001", "Production (critical)", mg_prod),
                                     ("shared-0002", "Shared services", mg_prod),
                                     ("dev-0003", "Development", mg_dev)]:
            sub = _scope(f"/subscriptions/{sub_id}", Scope.Kind.SUBSCRIPTION, name, parent)
            subs[sub_id] = sub
            for rg in ("web", "data"):
                rg_scope = _scope(f"{sub.path}/resourceGroups/rg-{rg}", Scope.Kind.RESOURCE_GROUP, f"rg-{rg}", sub)
                resource = ("Microsoft.Web/sites/app-" if rg == "web" else "Microsoft.Sql/servers/sql-") + sub_id
                _scope(f"{rg_scope.path}/providers/{resource}", Scope.Kind.RESOURCE, resource.rsplit("/", 1)[1],
                       rg_scope)

        # Groups.
        groups = {}
        for name, assignable in [("Helpdesk Tier 2", True), ("Cloud Operations", True), ("Security Team", False),
                                 ("Finance Approvers", False), ("Database Admins", False)]:
            group = Principal.objects.filter(kind=Principal.Kind.GROUP, display_name=name).first()
            groups[name] = group or services.group_create(display_name=name, role_assignable=assignable,
                                                          description=f"{name} (demo)", actor=DEMO)
        sp = Principal.objects.filter(kind=Principal.Kind.SERVICE_PRINCIPAL, display_name="deploy-pipeline").first()
        sp = sp or services.service_principal_create(display_name="deploy-pipeline",
                                                     description="CI/CD deployment identity (demo)", actor=DEMO)

        # Policies used by the demo path.
        security_admin = roles[RoleDefinition.SECURITY_ADMINISTRATOR]
        setting = selectors.role_setting_effective(role=security_admin, scope=root)
        services.role_setting_update(actor=DEMO, role=security_admin, scope=root,
                                     values={"require_approval": True, "require_mfa_on_activation": True,
                                             "max_activation_minutes": 240},
                                     approver_ids=[named["bob"].principal.pk, named["carol"].principal.pk]
                                     if not setting.pk or not setting.approvers.exists() else None)
        critical = {k: v for k, v in CRITICAL_SUBSCRIPTION_OWNER_POLICY.items() if k != "approval_by_role_holders"}
        services.role_setting_update(actor=DEMO, role=roles[RoleDefinition.OWNER], scope=subs["prod-0001"],
                                     values=critical)
        for sub_id in ("shared-0002", "dev-0003"):
            services.role_setting_update(actor=DEMO, role=roles[RoleDefinition.USER_ACCESS_ADMINISTRATOR],
                                         scope=subs[sub_id], values=LESS_CRITICAL_UAA_POLICY)

        # The demo personas.
        alice, bob, carol, dave = (named[n].principal for n in ("alice", "bob", "carol", "dave"))
        _assign(alice, security_admin, root, Assignment.Kind.ELIGIBLE)
        _assign(alice, roles["exchange-administrator"], root, Assignment.Kind.ELIGIBLE, end=now + timedelta(days=180))
        _assign(alice, roles["helpdesk-administrator"], root, Assignment.Kind.ELIGIBLE)
        _assign(alice, roles[RoleDefinition.OWNER], subs["prod-0001"], Assignment.Kind.ELIGIBLE,
                end=now + timedelta(days=80))
        _assign(alice, roles[RoleDefinition.CONTRIBUTOR], subs["dev-0003"], Assignment.Kind.ELIGIBLE,
                end=now + timedelta(days=10))
        _assign(bob, roles[RoleDefinition.OWNER], subs["prod-0001"], Assignment.Kind.ACTIVE,
                end=now + timedelta(days=85))
        _assign(carol, roles[RoleDefinition.PRIVILEGED_ROLE_ADMINISTRATOR], root, Assignment.Kind.ACTIVE)
        _assign(dave, roles[RoleDefinition.GLOBAL_READER], root, Assignment.Kind.ACTIVE)
        _assign(dave, roles[RoleDefinition.SECURITY_READER], root, Assignment.Kind.ACTIVE)

        # Everyone else: a spread of every assignment type.
        member, owner = roles[RoleDefinition.GROUP_MEMBER], roles[RoleDefinition.GROUP_OWNER]
        group_list = list(groups.values())
        for index, user in enumerate(people):
            principal = user.principal
            group = group_list[index % len(group_list)]
            kind = Assignment.Kind.ACTIVE if index % 3 == 0 else Assignment.Kind.ELIGIBLE
            _assign(principal, member, group.group_scope, kind, end=None if index % 2 else now + timedelta(days=90))
            if index % 7 == 0:
                _assign(principal, owner, group.group_scope, Assignment.Kind.ELIGIBLE, end=now + timedelta(days=60))
            if index % 4 == 0:
                _assign(principal, roles[RoleDefinition.READER], subs[rnd.choice(list(subs))], Assignment.Kind.ACTIVE)
            if index % 5 == 0:
                _assign(principal, roles[RoleDefinition.CONTRIBUTOR], subs[rnd.choice(list(subs))],
                        Assignment.Kind.ELIGIBLE, end=now + timedelta(days=rnd.choice([5, 40, 120])))
            if index % 6 == 0:
                directory_role = roles[rnd.choice(["user-administrator", "helpdesk-administrator",
                                                   "sharepoint-administrator", "intune-administrator",
                                                   "application-administrator", "billing-administrator"])]
                _assign(principal, directory_role, root, Assignment.Kind.ELIGIBLE)
        _assign(groups["Helpdesk Tier 2"], roles["helpdesk-administrator"], root, Assignment.Kind.ELIGIBLE)
        _assign(groups["Cloud Operations"], roles[RoleDefinition.CONTRIBUTOR], subs["shared-0002"],
                Assignment.Kind.ACTIVE)
        _assign(sp, roles[RoleDefinition.CONTRIBUTOR], subs["dev-0003"], Assignment.Kind.ACTIVE,
                end=now + timedelta(days=30))
        _assign(alice, member, groups["Security Team"].group_scope, Assignment.Kind.ELIGIBLE)
        _assign(bob, owner, groups["Security Team"].group_scope, Assignment.Kind.ACTIVE)

        _history(rnd=rnd, people=people, alice=alice, bob=named["bob"], roles=roles, root=root)
    return [(username, DEMO_PASSWORD, what) for username, _, what in DEMO_LOGINS]


def _history(*, rnd, people, alice, bob, roles, root) -> None:
    """A month of past activations: ended activations with their requests and audit events."""
    if Request.objects.filter(action=Request.Action.SELF_ACTIVATE, justification__startswith="[history]").exists():
        return
    now = timezone.now()
    # The demo organisation has run PIM for a quarter: its eligibilities began before the history.
    Assignment.objects.filter(kind=Assignment.Kind.ELIGIBLE, status=Assignment.Status.LIVE,
                              justification="Demo data", start_at__gt=now - timedelta(days=1)).update(
        start_at=now - timedelta(days=90), created_at=now - timedelta(days=90))
    eligibles = list(Assignment.objects.filter(kind=Assignment.Kind.ELIGIBLE, status=Assignment.Status.LIVE,
                                               principal__kind=Principal.Kind.USER)
                     .select_related("principal__user", "role", "scope")[:40])
    reasons = ["Incident INC-{n}: restore service", "Monthly patching window", "Password reset for a VIP",
               "Investigate sign-in alerts", "Rotate storage keys", "Quarterly access clean-up"]
    for day in range(30, 0, -1):
        for _ in range(rnd.randint(0, 3)):
            eligible = rnd.choice(eligibles)
            start = now - timedelta(days=day, hours=rnd.randint(0, 20))
            if start < eligible.start_at:
                continue
            end = start + timedelta(hours=rnd.choice([1, 2, 4]))
            why = "[history] " + rnd.choice(reasons).format(n=rnd.randint(1000, 9999))
            activation = Assignment.objects.create(
                principal=eligible.principal, role=eligible.role, scope=eligible.scope, kind=Assignment.Kind.ACTIVE,
                status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.EXPIRED, start_at=start, end_at=end,
                ended_at=end, activated_from=eligible, justification=why, created_at=start,
                created_by=eligible.principal.user,
            )
            request = Request.objects.create(
                action=Request.Action.SELF_ACTIVATE, status=Request.Status.PROVISIONED,
                requested_by=eligible.principal.user, principal=eligible.principal, role=eligible.role,
                scope=eligible.scope, kind=Assignment.Kind.ACTIVE, eligible_assignment=eligible,
                assignment=activation, start_at=start, end_at=end,
                duration_minutes=int((end - start).total_seconds() // 60), justification=why,
                approvals_required=1 if eligible.role.slug == RoleDefinition.SECURITY_ADMINISTRATOR else 0,
                created_at=start, decided_at=start, provisioned_at=start,
            )
            if request.approvals_required:
                ApprovalDecision.objects.create(request=request, approver=bob, decision="approve",
                                                comment="Approved (history)", decided_at=start)
            audit_event_record(action="request.self_activate", actor=eligible.principal.user, target=activation,
                               principal=eligible.principal, role=eligible.role, scope=eligible.scope,
                               justification=why, after={"start_at": start, "end_at": end},
                               message="Imported demo history.", correlation_id=request.pk, occurred_at=start)
