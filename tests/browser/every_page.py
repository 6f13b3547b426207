"""Every GET page a person can reach, derived from the URL conf: the demo organisation plus a request
waiting for approval, an activation, an ended role, a review, an incident, a webhook target and a
SCIM application, and for each named URL the persona who visits it and the path, or why it is not visited.

`uncovered_url_names()` lists named URLs that are neither visited nor excluded: a new page fails the
inventory test until it is added to one of the two.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

# A permission string long enough to overflow a 390 px screen unless it wraps.
LONG_PERMISSION = "microsoft.directory/servicePrincipals/synchronizationCredentials/manage.allProperties.allTasks"


@dataclass
class World:
    users: dict
    objects: dict = field(default_factory=dict)

    def __getitem__(self, key):
        return self.objects[key]


def build_world() -> World:
    """The demo organisation, and one of each object a detail page shows."""
    from alerts.definitions import CATALOGUE
    from alerts.models import Incident
    from alerts.services import alerts_evaluate_all
    from api import services as api_services
    from approvals import services as approval_services
    from approvals.models import Request
    from assignments import services
    from assignments.models import Assignment, Principal, RoleDefinition, Scope, User
    from audit.models import AuditEvent
    from portal.demo import demo_load
    from reviews import services as review_services

    demo_load()
    users = {name: User.objects.get(username=name) for name in ("alice", "bob", "carol", "dave")}
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    root = Scope.objects.get(path="/")
    roles = {role.slug: role for role in RoleDefinition.objects.all()}
    now = timezone.now()
    # The administrator also holds Global Administrator: the Django admin and "Elevate access" are theirs.
    services.assignment_create(actor=SETUP, principal=carol.principal, role=roles["global-administrator"], scope=root,
                               kind="active", justification="test")
    security_admin = roles["security-administrator"]

    objects = {}
    eligible = {a.role.slug: a for a in Assignment.objects.filter(principal=alice.principal, kind="eligible",
                                                                   status="live", scope=root)}
    objects["eligible"] = eligible["helpdesk-administrator"]
    # A request waiting for Bob (Security Administrator needs MFA and approval).
    objects["pending"] = approval_services.request_self_activate(
        actor=alice, eligible_assignment=eligible["security-administrator"], duration_minutes=60,
        justification="Investigate the sign-in alerts of " + LONG_PERMISSION, mfa_verified_at=now)
    # An activation of Exchange Administrator, held now (extend).
    activation = approval_services.request_self_activate(
        actor=alice, eligible_assignment=eligible["exchange-administrator"], duration_minutes=60,
        justification="Mailbox migration", mfa_verified_at=now)
    objects["active"] = activation.assignment
    objects["provisioned"] = activation
    # An eligibility that ended last week (renew).
    ended = services.assignment_create(actor=SETUP, principal=alice.principal, role=roles["user-administrator"],
                                       scope=root, kind="eligible", justification="test")
    Assignment.objects.filter(pk=ended.pk).update(status=Assignment.Status.ENDED, start_at=now - timedelta(days=40),
                                                  end_at=now - timedelta(days=7), ended_at=now - timedelta(days=7),
                                                  end_reason=Assignment.EndReason.EXPIRED)
    objects["ended"] = ended
    objects["assignment"] = Assignment.objects.get(role=roles["helpdesk-administrator"], status="live",
                                                   principal__display_name="Helpdesk Tier 2")
    # Bob has an authenticator (the step-up page asks for its code).
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=bob, name="Authenticator app", confirmed=True)
    # Bob is away next week: Dave decides his approvals (the Delegation page lists it).
    approval_services.delegation_create(actor=bob, delegate=users["dave"], starts_at=now + timedelta(days=7),
                                        ends_at=now + timedelta(days=14), reason="Holiday")

    review = review_services.review_create(
        actor=carol, roles=[security_admin], mfa_verified_at=now,
        spec=review_services.ReviewSettings(name="Quarterly recertification", scope=root, start_date=now.date(),
                                            duration_days=14, reviewer_ids=[bob.principal.pk],
                                            fallback_reviewer_ids=[], notify_ids=[]))[0]
    instance = review.instances.get(sequence=1)
    review_services.review_instance_start(instance=instance)
    objects["review"], objects["instance"] = review, instance

    alerts_evaluate_all(actor=SETUP)
    objects["incident"] = Incident.objects.order_by("pk").first()
    objects["alert_key"] = objects["incident"].alert_key if objects["incident"] else CATALOGUE[0].key

    group = Principal.objects.filter(kind=Principal.Kind.GROUP, display_name="Security Team").get()
    api_services.token_create_personal(actor=carol, name="scripts", mfa_verified_at=now)
    from connectors import services as connector_services

    objects["webhook"] = connector_services.webhook_target_create(
        actor=carol, name="SIEM", mfa_verified_at=now, config={
            "url": "https://hooks.example.com/pim/" + "x" * 60, "event_types": ["assignment.activated"]})[0]

    objects["connector"] = connector_services.target_create(
        actor=carol, name="Corporate LDAP", kind="ldap", secret="bind-password", mfa_verified_at=now,
        config={"server_url": "ldap://ldap.example.com", "bind_dn": "cn=pim,dc=example,dc=com",
                "user_dn_template": "uid={username},ou=people,dc=example,dc=com"})
    connector_services.mapping_create(actor=carol, target=objects["connector"], role=roles["group-member"],
                                      scope=group.group_scope, grant="cn=Security,ou=groups,dc=example,dc=com",
                                      check=False, mfa_verified_at=now)
    objects["group"] = group
    # Request rules on the critical subscription's Owner policy (Bob, an Owner there, administers it): a
    # justification hint, break-glass allowed, an auto-approval rule; Alice's break-glass activation and
    # the review it opened.
    from assignments.selectors import role_setting_effective
    from selfservice import services as selfservice_services

    owner_eligible = Assignment.objects.get(principal=alice.principal, role=roles[RoleDefinition.OWNER],
                                            kind="eligible", status="live", scope__path__endswith="prod-0001")
    owner_setting = role_setting_effective(role=owner_eligible.role, scope=owner_eligible.scope)
    selfservice_services.request_rules_update(actor=SETUP, setting=owner_setting, values={
        "allow_break_glass": True, "justification_min_length": 10, "justification_hint": "Name the incident."})
    objects["owner_setting"], objects["break_glass_eligible"] = owner_setting, owner_eligible
    objects["auto_rule"] = selfservice_services.auto_approval_rule_create(
        actor=SETUP, setting=owner_setting, name="Security Team on call", group=group.pk, on_call=True)
    from selfservice import breakglass

    objects["break_glass_review"] = breakglass.request_break_glass(
        actor=alice, eligible_assignment=owner_eligible, duration_minutes=60, mfa_verified_at=now,
        reason="INC-4711: production database down, approvers unreachable").break_glass_review
    from selfservice import catalogue

    objects["batch"] = catalogue.eligibility_request_many(
        actor=alice, end_at=now + timedelta(days=30), justification="Joining the platform team",
        items=[catalogue.Item(role=roles[RoleDefinition.READER], scope=owner_eligible.scope),
               catalogue.Item(role=roles["user-administrator"], scope=root)])
    # The directory administration pages: a subscription that moves, an empty resource group to delete, a
    # custom role, a user to edit and offboard, a disabled one to enable, a dry-run upload.
    from directory import bulk_import

    objects["subscription"] = Scope.objects.filter(kind=Scope.Kind.SUBSCRIPTION).order_by("path").first()
    objects["empty_scope"] = services.scope_add(kind=Scope.Kind.RESOURCE_GROUP, name="rg-empty-" + "x" * 40,
                                                display_name="Empty resource group", parent=objects["subscription"],
                                                actor=carol, mfa_verified_at=now)
    objects["custom_role"] = services.role_definition_add(
        slug="", name="Mailbox auditor", kind="directory", actions=[LONG_PERMISSION, "microsoft.exchange/*/read"],
        not_actions=["microsoft.exchange/mailboxes/delete"], actor=carol, mfa_verified_at=now)
    former = services.user_create(username="former", display_name="Former employee", actor=SETUP)
    services.user_set_enabled(user=former, enabled=False, actor=SETUP)
    objects["former"] = former
    objects["upload"] = bulk_import.upload_stage(
        actor=carol, filename="organisation.csv", mfa_verified_at=now,
        data=b"record,username,email,path,kind\r\nuser,alice,not-an-address,,\r\nuser,newhire,,,\r\n"
             b"scope,,," + LONG_PERMISSION.encode() + b",subscription\r\n")[0]
    from directory.ldap_sync import directory_source_create, directory_sync_run

    objects["ldap_source"] = directory_source_create(
        actor=carol, values={"name": "Corp Active Directory", "preset": "active_directory",
                             "url": "ldaps://dc1.corp.example.com", "bind_dn": "CN=svc-pim,OU=Service Accounts,"
                             "DC=corp,DC=example,DC=com", "base_dns": "OU=Staff,DC=corp,DC=example,DC=com"},
        password="bind-secret", mfa_verified_at=now)
    objects["ldap_run"] = directory_sync_run(source=objects["ldap_source"], kind="ldif", started_by=carol, ldif=(
        b"dn: CN=Ada,OU=Staff,DC=corp,DC=example,DC=com\nobjectClass: user\nobjectCategory: CN=Person,CN=Schema\n"
        b"sAMAccountName: ada.lovelace\nmail: ada@corp.example.com\nuserAccountControl: 512\nobjectGUID: ada-1\n"))
    objects["event"] = AuditEvent.objects.order_by("-seq").first()
    objects["requests"] = Request
    from directory.scim import clients as scim_clients

    objects["scim_client"] = scim_clients.scim_client_create(actor=carol, name="Entra ID production",
                                                             description="Contoso tenant", mfa_verified_at=now)
    scim_clients.scim_token_create(actor=carol, client=objects["scim_client"], mfa_verified_at=now)
    # Policy as code: a version history (the demo's role settings) and a proposal waiting for a second person.
    from policy import services as policy_services
    from policy.registry import KINDS as POLICY_KINDS

    key = "security-administrator@/"
    objects["proposal"] = policy_services.proposal_create(
        actor=Actor.person(carol, mfa_verified_at=now), reason="Shorter activations (ticket SEC-12)",
        changes=[{"kind": "role_setting", "key": key,
                  "data": {**POLICY_KINDS["role_setting"].snapshot(key), "max_activation_minutes": 95}}])
    return World(users=users, objects=objects)


def session_client(user) -> Client:
    """A test client signed in as `user` with a fresh MFA verification (sign-in is another test's)."""
    from core.mfa import SESSION_KEY

    client = Client()
    client.force_login(user)
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    return client


# --- the inventory --------------------------------------------------------------------------------------

ANONYMOUS = None


def _r(name, *args):
    return lambda w: reverse(name, args=[a(w) if callable(a) else a for a in args])


# name -> (persona, path builder). A persona is a demo username, or ANONYMOUS.
VISITED = {
    "account_login": (ANONYMOUS, _r("account_login")),
    "account_inactive": (ANONYMOUS, _r("account_inactive")),
    "account_reset_password": (ANONYMOUS, _r("account_reset_password")),
    "account_reset_password_done": (ANONYMOUS, _r("account_reset_password_done")),
    "account_reset_password_from_key": (ANONYMOUS, lambda w: "/accounts/password/reset/key/1-bad-key/"),
    "account_reset_password_from_key_done": (ANONYMOUS, _r("account_reset_password_from_key_done")),
    "socialaccount_login_cancelled": (ANONYMOUS, _r("socialaccount_login_cancelled")),
    "socialaccount_login_error": (ANONYMOUS, _r("socialaccount_login_error")),
    "account_email": ("alice", _r("account_email")),
    "account_logout": ("alice", _r("account_logout")),
    "account_change_password": ("alice", _r("account_change_password")),
    "socialaccount_connections": ("alice", _r("socialaccount_connections")),
    "accounts:security": ("alice", _r("accounts:security")),
    "accounts:totp_enrol": ("alice", _r("accounts:totp_enrol")),
    "accounts:backup_codes": ("alice", _r("accounts:backup_codes")),
    "accounts:verify": ("bob", _r("accounts:verify")),
    "portal:home": ("alice", _r("portal:home")),
    "approvals:my_roles": ("alice", _r("approvals:my_roles")),
    "approvals:my_requests": ("alice", _r("approvals:my_requests")),
    "approvals:activate": ("alice", _r("approvals:activate", lambda w: w["eligible"].pk)),
    "approvals:extend": ("alice", _r("approvals:extend", lambda w: w["active"].pk)),
    "approvals:deactivate": ("alice", _r("approvals:deactivate", lambda w: w["active"].pk)),
    "approvals:renew": ("alice", _r("approvals:renew", lambda w: w["ended"].pk)),
    "approvals:request_detail": ("bob", _r("approvals:request_detail", lambda w: w["pending"].pk)),
    "approvals:queue": ("bob", _r("approvals:queue")),
    "approvals:delegation": ("bob", _r("approvals:delegation")),
    "reviews:mine": ("bob", _r("reviews:mine")),
    "reviews:mine_instance": ("bob", _r("reviews:mine_instance", lambda w: w["instance"].pk)),
    "assignments:list": ("carol", _r("assignments:list")),
    "assignments:assign": ("carol", _r("assignments:assign")),
    "assignments:detail": ("carol", _r("assignments:detail", lambda w: w["assignment"].pk)),
    "assignments:update": ("carol", _r("assignments:update", lambda w: w["assignment"].pk)),
    "assignments:extend": ("carol", _r("assignments:extend", lambda w: w["active"].pk)),
    "assignments:renew": ("carol", _r("assignments:renew", lambda w: w["ended"].pk)),
    "assignments:make_active": ("carol", _r("assignments:make_active", lambda w: w["eligible"].pk)),
    "assignments:remove": ("carol", _r("assignments:remove", lambda w: w["assignment"].pk)),
    "assignments:role_settings": ("carol", _r("assignments:role_settings")),
    "assignments:role_setting": ("carol", _r("assignments:role_setting", lambda w: w["pending"].role_id)),
    "assignments:role_setting_stages": ("carol", _r("assignments:role_setting_stages",
                                                    lambda w: w["pending"].role_id)),
    "assignments:principals": ("carol", _r("assignments:principals")),
    "assignments:principal": ("carol", _r("assignments:principal", lambda w: w.users["alice"].principal.pk)),
    "assignments:group_create": ("carol", _r("assignments:group_create")),
    "assignments:service_principal_create": ("carol", _r("assignments:service_principal_create")),
    "assignments:elevate": ("carol", _r("assignments:elevate")),
    "directory:user_create": ("carol", _r("directory:user_create")),
    "directory:user_edit": ("carol", _r("directory:user_edit", lambda w: w.users["alice"].pk)),
    "directory:user_offboard": ("carol", _r("directory:user_offboard", lambda w: w.users["alice"].pk)),
    "directory:user_enable": ("carol", _r("directory:user_enable", lambda w: w["former"].pk)),
    "directory:scopes": ("carol", _r("directory:scopes")),
    "directory:scope_create": ("carol", _r("directory:scope_create")),
    "directory:scope": ("carol", _r("directory:scope", lambda w: w["empty_scope"].pk)),
    "directory:scope_move": ("carol", _r("directory:scope_move", lambda w: w["subscription"].pk)),
    "directory:scope_delete": ("carol", _r("directory:scope_delete", lambda w: w["empty_scope"].pk)),
    "directory:roles": ("carol", _r("directory:roles")),
    "directory:role_create": ("carol", _r("directory:role_create")),
    "directory:role": ("carol", _r("directory:role", lambda w: w["custom_role"].pk)),
    "directory:role_delete": ("carol", _r("directory:role_delete", lambda w: w["custom_role"].pk)),
    "directory:import": ("carol", _r("directory:import")),
    "directory:import_preview": ("carol", _r("directory:import_preview", lambda w: w["upload"].pk)),
    "directory:export": ("carol", _r("directory:export")),
    "audit:list": ("dave", _r("audit:list")),
    "audit:detail": ("dave", _r("audit:detail", lambda w: w["event"].seq)),
    "audit:mine": ("alice", _r("audit:mine")),
    "connectors:index": ("carol", _r("connectors:index")),
    "connectors:target_create": ("carol", _r("connectors:target_create", lambda w: "postgresql")),
    "connectors:target": ("carol", _r("connectors:target", lambda w: w["connector"].pk)),
    "reviews:list": ("carol", _r("reviews:list")),
    "reviews:create": ("carol", _r("reviews:create")),
    "reviews:detail": ("carol", _r("reviews:detail", lambda w: w["review"].pk)),
    "reviews:instance": ("carol", _r("reviews:instance", lambda w: w["instance"].pk)),
    "alerts:dashboard": ("carol", _r("alerts:dashboard")),
    "alerts:list": ("carol", _r("alerts:list")),
    "alerts:detail": ("carol", _r("alerts:detail", lambda w: w["alert_key"])),
    "alerts:incidents": ("carol", _r("alerts:incidents")),
    "alerts:incident": ("carol", _r("alerts:incident", lambda w: w["incident"].pk)),
    "alerts:emergency": ("carol", _r("alerts:emergency")),
    "alerts:discovery": ("carol", _r("alerts:discovery")),
    "alerts:convert": ("carol", _r("alerts:convert")),
    "governance:whatif": ("carol", lambda w: reverse("governance:whatif") + "?" + urlencode({
        "principal": w.users["alice"].principal.pk, "role": w["eligible"].role_id, "scope": "/",
        "justification": "check", "mfa_verified": "on"})),
    "governance:separation": ("carol", _r("governance:separation")),
    "governance:rightsizing": ("carol", _r("governance:rightsizing")),
    "api:tokens": ("carol", _r("api:tokens")),
    "ldap_sources:list": ("carol", _r("ldap_sources:list")),
    "ldap_sources:create": ("carol", _r("ldap_sources:create")),
    "ldap_sources:detail": ("carol", _r("ldap_sources:detail", lambda w: w["ldap_source"].pk)),
    "ldap_sources:import": ("carol", _r("ldap_sources:import", lambda w: w["ldap_source"].pk)),
    "ldap_sources:runs": ("carol", _r("ldap_sources:runs", lambda w: w["ldap_source"].pk)),
    "ldap_sources:delete": ("carol", _r("ldap_sources:delete", lambda w: w["ldap_source"].pk)),
    "ldap_sources:run": ("carol", _r("ldap_sources:run", lambda w: w["ldap_source"].pk, lambda w: w["ldap_run"].pk)),
    "api:docs": ("carol", _r("api:docs")),
    "admin:index": ("carol", _r("admin:index")),
    "directory_scim:client_list": ("carol", _r("directory_scim:client_list")),
    "policy:index": ("carol", _r("policy:index")),
    "policy:history": ("carol", lambda w: reverse("policy:history")
                       + "?kind=role_setting&key=security-administrator@/"),
    "policy:propose": ("carol", _r("policy:propose")),
    "policy:proposal": ("dave", _r("policy:proposal", lambda w: w["proposal"].pk)),
    "policy:import": ("carol", _r("policy:import")),
    "directory_scim:client_detail": ("carol", _r("directory_scim:client_detail", lambda w: w["scim_client"].pk)),
    "selfservice:rules": ("bob", _r("selfservice:rules", lambda w: w["owner_setting"].pk)),
    "selfservice:auto_rule_create": ("bob", _r("selfservice:auto_rule_create", lambda w: w["owner_setting"].pk)),
    "selfservice:auto_rule": ("bob", _r("selfservice:auto_rule", lambda w: w["auto_rule"].pk)),
    "selfservice:break_glass": ("alice", _r("selfservice:break_glass", lambda w: w["break_glass_eligible"].pk)),
    "selfservice:reviews": ("bob", _r("selfservice:reviews")),
    "selfservice:review": ("bob", _r("selfservice:review", lambda w: w["break_glass_review"].pk)),
    "selfservice:catalogue": ("alice", _r("selfservice:catalogue")),
    "selfservice:batch": ("bob", _r("selfservice:batch", lambda w: w["batch"].pk)),
}
# Pages every persona sees differently: visited once more for each of these.
ALSO_VISITED = [("bob", "portal:home"), ("carol", "portal:home"), ("dave", "portal:home"),
                ("alice", "approvals:request_detail"), ("dave", "directory:role")]
# Pages one URL name renders with another template for another object: (persona, name, path builder).
OTHER_OBJECTS = [("carol", "connectors:target", _r("connectors:target", lambda w: w["webhook"].pk)),
                 ("carol", "connectors:target_create", _r("connectors:target_create", lambda w: "webhook"))]
# Pages that answer with an error status by design, and say why.
EXPECTED_STATUS = {"socialaccount_login_error": 401, "account_email": 403}

POST_ONLY = "POST only (a button on another page)"
JSON = "machine-readable (JSON / CSV / schema), not a page"
EXCLUDED = {
    "account_signup": "sign-up is closed: accounts come from the directory (redirects to sign-in)",
    "account_reauthenticate": "allauth re-authentication: the portal's step-up is accounts:verify (redirects)",
    "account_request_reauthentication_code": "sign-in by emailed code is off",
    "account_confirm_reauthentication_code": "sign-in by emailed code is off",
    "account_confirm_login_code": "sign-in by emailed code is off",
    "account_email_verification_sent": "addresses come from the directory: nothing is verified by email",
    "account_confirm_email": "addresses come from the directory: nothing is verified by email",
    "account_set_password": "redirects to the password change page (every account has a password)",
    "socialaccount_signup": "redirects to sign-in without a pending single sign-on",
    "openid_connect_login": "redirects to the identity provider (single sign-on is off in tests)",
    "openid_connect_callback": "the identity provider's redirect target, not a page",
    "accounts:time_zone": POST_ONLY,
    "accounts:enrolment_code_email": POST_ONLY,
    "accounts:enrolment_code_issue": POST_ONLY,
    "approvals:cancel": POST_ONLY,
    "approvals:approve": POST_ONLY,
    "approvals:approve_bulk": POST_ONLY,
    "selfservice:batch_decide": POST_ONLY,
    "approvals:deny": POST_ONLY,
    "assignments:make_active_bulk": POST_ONLY,
    "assignments:role_setting_open": "redirects to assignments:role_setting of the chosen role",
    "assignments:principal_search": JSON,
    "assignments:scope_search": JSON,
    "directory:scope_rename": POST_ONLY,
    "audit:export": JSON,
    "audit:mine_export": JSON,
    "connectors:target_rotate_secret": POST_ONLY,
    "connectors:target_test": POST_ONLY,
    "connectors:target_reconcile": POST_ONLY,
    "connectors:target_delete": POST_ONLY,
    "connectors:mapping_create": POST_ONLY,
    "connectors:mapping_update": POST_ONLY,
    "connectors:mapping_delete": POST_ONLY,
    "connectors:effect_retry": POST_ONLY,
    "connectors:drift_fix": POST_ONLY,
    "policy:rollback": POST_ONLY,
    "policy:dual_control": POST_ONLY,
    "policy:proposal_decide": POST_ONLY,
    "policy:export": "a YAML download, not a page",
    "reviews:instance_complete": POST_ONLY,
    "reviews:instance_apply": POST_ONLY,
    "reviews:instance_csv": JSON,
    "ldap_sources:test": POST_ONLY,
    "ldap_sources:run_now": POST_ONLY,
    "alerts:index": "redirects to alerts:dashboard",
    "alerts:run_all": POST_ONLY,
    "alerts:run": POST_ONLY,
    "alerts:incident_action": POST_ONLY,
    "governance:conflict_set_delete": POST_ONLY,
    "governance:exception_grant": POST_ONLY,
    "governance:exception_revoke": POST_ONLY,
    "governance:rightsizing_apply": POST_ONLY,
    "governance:rightsizing_settings": POST_ONLY,
    "api:token-revoke": POST_ONLY,
    "directory_scim:token_revoke": POST_ONLY,
    "admin:login": "redirects to the portal's sign-in page",
    "admin:logout": POST_ONLY,
    "admin:password_change": "passwords change on the portal's page (account_change_password)",
    "admin:password_change_done": "passwords change on the portal's page (account_change_password)",
    "admin:autocomplete": JSON,
    "admin:jsi18n": "JavaScript, not a page",
    "admin:view_on_site": "redirects to the object's portal page",
    "admin:app_list": "the index filtered to one app: the same markup as admin:index",
    "admin:auth_user_password_change": "the admin is read-only: passwords change on the portal's page",
    "admin:otp_totp_totpdevice_config": "shows a device's secret key and QR code: not linked in the read-only admin",
    "admin:otp_totp_totpdevice_qrcode": "an image, not a page",
}
# Every other API name is the REST API; SCIM is the provisioning clients' endpoint; operations: /healthz,
# /readyz and /metrics.
EXCLUDED_PREFIXES = {"api:": JSON,
                     "scim:": "the SCIM 2.0 endpoint of provisioning clients (bearer token, JSON), not a page",
                     "operations:": "probes and metrics for machines (text / JSON), not pages"}
# One model's history page: Django renders every model's with the same template.
ADMIN_HISTORY = "admin:assignments_assignment_history"
ADMIN_READ_ONLY = {"_history": f"the same template as {ADMIN_HISTORY}",
                   "_add": "the admin is read-only: adding is refused (403)",
                   "_delete": "the admin is read-only: deleting is refused (403)"}


def admin_visits(world: World) -> dict:
    """The Django admin's changelists, and the change (read-only) and history pages of one object of each
    model that has one."""
    visits = {}
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        visits[f"{base}_changelist"] = ("carol", reverse(f"{base}_changelist"))
        obj = model_admin.get_queryset(_AdminRequest(world.users["carol"])).order_by("pk").first()
        if obj is not None:
            visits[f"{base}_change"] = ("carol", reverse(f"{base}_change", args=[obj.pk]))
            if f"{base}_history" == ADMIN_HISTORY:
                visits[ADMIN_HISTORY] = ("carol", reverse(ADMIN_HISTORY, args=[obj.pk]))
    return visits


class _AdminRequest:
    def __init__(self, user):
        self.user = user


def admin_url_names() -> set[str]:
    names = set()
    for model in admin.site._registry:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        names |= {f"{base}_changelist", f"{base}_change"}
    return names | {ADMIN_HISTORY}


def named_urls() -> set[str]:
    """Every named URL of the URL conf, with its namespace."""
    names = set()

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = namespace
                if pattern.namespace:
                    inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, inner)
            elif isinstance(pattern, URLPattern) and pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver().url_patterns, "")
    return names


def excluded_reason(name: str) -> str | None:
    if name in EXCLUDED:
        return EXCLUDED[name]
    if name.startswith("admin:") and name != ADMIN_HISTORY:
        for suffix, reason in ADMIN_READ_ONLY.items():
            if name.endswith(suffix):
                return reason
    if name in VISITED or name in admin_url_names():
        return None
    for prefix, reason in EXCLUDED_PREFIXES.items():
        if name.startswith(prefix):
            return reason
    return None


def uncovered_url_names() -> list[str]:
    visited = set(VISITED) | admin_url_names()
    return sorted(name for name in named_urls() if name not in visited and excluded_reason(name) is None)


def visits(world: World) -> list[tuple[str | None, str, str]]:
    """(persona, url name, path) for every visit, the admin's last."""
    result = [(persona, name, build(world)) for name, (persona, build) in VISITED.items()]
    result += [(persona, name, VISITED[name][1](world)) for persona, name in ALSO_VISITED]
    result += [(persona, name, build(world)) for persona, name, build in OTHER_OBJECTS]
    result += [(persona, name, path) for name, (persona, path) in admin_visits(world).items()]
    return result
