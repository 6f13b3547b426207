"""Rollback to any version of a role setting, connector mapping or alert setting restores its data through
the ordinary service, as a new version that says which one it restored and why; under dual control it is a
proposal instead."""

import pytest

from alerts.services import alert_setting_update
from assignments import services
from assignments.models import RoleSetting
from connectors import services as connectors
from core.errors import DomainError
from policy import services as policy
from policy.models import ConfigVersion

KEY = "exchange-administrator@/"


def _setting(directory):
    return RoleSetting.objects.get(role__slug="exchange-administrator", scope=directory.root)


def test_rollback_of_a_role_setting_is_a_new_version(directory, role_admin, as_verified):
    role = directory.role("exchange-administrator")
    original = _setting(directory).max_activation_minutes
    first = ConfigVersion.objects.filter(kind="role_setting", key=KEY).first().number
    for minutes in (90, 100):
        services.role_setting_update(actor=as_verified(role_admin), role=role, scope=directory.root,
                                     values={"max_activation_minutes": minutes})
    outcome = policy.version_rollback(actor=as_verified(role_admin), kind="role_setting", key=KEY, number=first,
                                      reason="the change broke the on-call rota")
    assert outcome.applied == 1 and outcome.proposal is None
    assert _setting(directory).max_activation_minutes == original
    latest = ConfigVersion.objects.filter(kind="role_setting", key=KEY).first()
    assert (latest.number, latest.source, latest.rolled_back_to) == (first + 3, "rollback", first)
    assert latest.reason == f"Rollback to version {first}: the change broke the on-call rota"
    assert latest.diff == [{"field": "max_activation_minutes", "before": 100, "after": original}]
    with pytest.raises(DomainError):  # already as it was
        policy.version_rollback(actor=as_verified(role_admin), kind="role_setting", key=KEY, number=first,
                                reason="again")


def test_rollback_needs_the_rights_of_the_change(directory, role_admin, as_verified):
    services.role_setting_update(actor=as_verified(role_admin), role=directory.role("exchange-administrator"),
                                 scope=directory.root, values={"max_activation_minutes": 90})
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    with pytest.raises(DomainError) as refused:
        policy.version_rollback(actor=as_verified(reader), kind="role_setting", key=KEY, number=1, reason="no")
    assert refused.value.code == "forbidden"


def test_rollback_under_dual_control_is_a_proposal(directory, role_admin, second_admin, as_verified):
    services.role_setting_update(actor=as_verified(role_admin), role=directory.role("exchange-administrator"),
                                 scope=directory.root, values={"max_activation_minutes": 90})
    policy.dual_control_set(actor=as_verified(role_admin), scope=directory.root, enabled=True)
    outcome = policy.version_rollback(actor=as_verified(role_admin), kind="role_setting", key=KEY, number=1,
                                      reason="undo")
    assert outcome.proposal is not None and _setting(directory).max_activation_minutes == 90
    policy.proposal_approve(actor=as_verified(second_admin), proposal=outcome.proposal)
    assert _setting(directory).max_activation_minutes != 90


def test_alert_settings_are_versioned_and_roll_back(directory, global_admin, as_verified):
    alert_setting_update(actor=global_admin, key="too_many_global_admins", enabled=True, thresholds={"min_count": 5},
                         mfa_verified_at=as_verified(global_admin).mfa_verified_at)
    versions = list(ConfigVersion.objects.filter(kind="alert_setting", key="too_many_global_admins")
                    .order_by("number"))
    assert [v.source for v in versions] == ["baseline", "change"]
    assert versions[1].diff == [{"field": "thresholds", "before": versions[0].data["thresholds"],
                                 "after": {**versions[0].data["thresholds"], "min_count": 5}}]
    policy.version_rollback(actor=as_verified(global_admin), kind="alert_setting", key="too_many_global_admins",
                            number=1, reason="too noisy")
    assert policy.KINDS["alert_setting"].snapshot("too_many_global_admins") == versions[0].data


def test_connector_mappings_are_versioned_and_a_removed_one_rolls_back(directory, global_admin, as_verified):
    actor = as_verified(global_admin)
    target = connectors.target_create(
        actor=global_admin, name="LDAP", kind="ldap", secret="pw", mfa_verified_at=actor.mfa_verified_at,
        config={"server_url": "ldap://ldap.example.com", "bind_dn": "cn=pim,dc=example,dc=com",
                "user_dn_template": "uid={username},ou=people,dc=example,dc=com"})
    group = directory.group("Ops")
    mapping = connectors.mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                                        scope=group.group_scope, grant="cn=Ops,dc=example,dc=com", check=False,
                                        mfa_verified_at=actor.mfa_verified_at)
    connectors.mapping_delete(actor=global_admin, mapping=mapping, mfa_verified_at=actor.mfa_verified_at)
    key = f"LDAP|group-member@{group.group_scope.path}|cn=Ops,dc=example,dc=com"
    created, deleted = ConfigVersion.objects.filter(kind="connector_mapping", key=key).order_by("number")
    assert created.data == {"options": {}, "enabled": True} and deleted.data is None
    policy.version_rollback(actor=actor, kind="connector_mapping", key=key, number=1, reason="deleted by mistake")
    assert policy.KINDS["connector_mapping"].snapshot(key) == {"options": {}, "enabled": True}
