"""A populated world for the configuration tests: nested management groups, subscriptions, resource
groups and resources; a custom role; policies at several scopes with user and group approvers, a changed
notification matrix, trusted networks and time windows; two approval stages; eligibility (permanent,
time-bound, future start); a connector mapping; a changed alert; dual control below the root."""

from datetime import timedelta

from django.utils import timezone

from alerts.services import alert_setting_update
from assignments import services
from assignments.models import Scope, default_notification_matrix
from connectors import services as connectors
from core.actors import Actor
from policy import services as policy

SETUP = Actor.system("test-setup")


def build_world(directory, admin_user):
    now = timezone.now()
    admin = Actor.person(admin_user, mfa_verified_at=now)
    directory.grant(admin_user, "owner", directory.root)  # administers resource roles everywhere
    mg = services.scope_add(kind=Scope.Kind.MANAGEMENT_GROUP, name="corp", display_name="Corp", parent=directory.root,
                            actor=SETUP)
    mg_child = services.scope_add(kind=Scope.Kind.MANAGEMENT_GROUP, name="corp-prod", display_name="Corp production",
                                  parent=mg, actor=SETUP)
    sub = services.scope_add(kind=Scope.Kind.SUBSCRIPTION, name="s-prod", display_name="Production", parent=mg_child,
                             actor=SETUP)
    rg = services.scope_add(kind=Scope.Kind.RESOURCE_GROUP, name="rg-web", display_name="Web", parent=sub, actor=SETUP)
    services.scope_add(kind=Scope.Kind.RESOURCE, name="Microsoft.Compute/virtualMachines/vm1", display_name="VM 1",
                       parent=rg, actor=SETUP)
    role = services.role_definition_add(slug="vm-operator", name="VM operator", kind="resource",
                                        description="Starts and stops VMs", actions=["Microsoft.Compute/*/start"],
                                        not_actions=["Microsoft.Compute/*/delete"], is_privileged=True, actor=SETUP)
    bob = directory.user("bob")
    team = directory.group("Payments team")
    matrix = default_notification_matrix()
    matrix["eligible_activated"]["admins"]["extra_addresses"] = ["soc@example.com"]
    services.role_setting_update(actor=admin, role=directory.role("global-administrator"), scope=directory.root,
                                 values={"require_approval": True, "trusted_networks": "10.0.0.0/8\n192.168.0.0/16",
                                         "notifications": matrix},
                                 approver_ids=[bob.principal.pk, team.pk])
    services.role_setting_stages_set(actor=admin, role=directory.role("global-administrator"), scope=directory.root,
                                     stages=[{"name": "Team lead", "approvers": [bob.principal.pk],
                                              "approvals_required": 1, "timeout_minutes": 60},
                                             {"name": "Security", "approvers": [team.pk], "approvals_required": 1,
                                              "timeout_minutes": 240}])
    services.role_setting_update(actor=SETUP, role=role, scope=sub,
                                 values={"max_activation_minutes": 60, "allowed_time_windows": "Mon-Fri 08:00-18:00",
                                         "allowed_time_windows_zone": "Europe/Paris", "allow_permanent_eligible": False,
                                         "expire_eligible_after": "P3M"})
    services.role_setting_update(actor=SETUP, role=directory.role("group-member"), scope=team.group_scope,
                                 values={"max_activation_minutes": 300})
    services.assignment_create(actor=SETUP, principal=bob.principal, role=role, scope=rg, kind="eligible",
                               end_at=now + timedelta(days=60), justification="world")
    directory.grant(bob, "exchange-administrator", kind="eligible")
    directory.grant(team, "reader", sub, kind="eligible", start=now + timedelta(days=2), end=now + timedelta(days=30))
    directory.add_member(team, directory.user("carol"), kind="eligible", end=now + timedelta(days=10))
    target = connectors.target_create(
        actor=admin_user, name="Corporate LDAP", kind="ldap", secret="bind-password", mfa_verified_at=now,
        config={"server_url": "ldap://ldap.example.com", "bind_dn": "cn=pim,dc=example,dc=com",
                "user_dn_template": "uid={username},ou=people,dc=example,dc=com"})
    connectors.mapping_create(actor=admin_user, target=target, role=directory.role("group-member"),
                              scope=team.group_scope, grant="cn=Payments,ou=groups,dc=example,dc=com", check=False,
                              mfa_verified_at=now)
    alert_setting_update(actor=admin_user, key="too_many_global_admins", enabled=True,
                         thresholds={"min_count": 4}, mfa_verified_at=now)
    policy.dual_control_set(actor=admin, scope=rg, enabled=True)
    return {"subscription": sub, "resource_group": rg, "role": role, "bob": bob, "team": team}
