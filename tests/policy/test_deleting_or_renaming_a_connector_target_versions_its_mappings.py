"""A target's mappings go with it: deleting the target records each mapping's removal, renaming it moves
each mapping to its new key (removed under the old name, created under the new), and under dual control
neither happens directly."""

import pytest

from connectors import services as connectors
from core.errors import DomainError
from policy import services as policy
from policy.models import ConfigVersion

CONFIG = {"server_url": "ldap://ldap.example.com", "bind_dn": "cn=pim,dc=example,dc=com",
          "user_dn_template": "uid={username},ou=people,dc=example,dc=com"}


@pytest.fixture
def mapped(directory, global_admin, as_verified):
    at = as_verified(global_admin).mfa_verified_at
    target = connectors.target_create(actor=global_admin, name="LDAP", kind="ldap", secret="pw", config=CONFIG,
                                      mfa_verified_at=at)
    group = directory.group("Ops")
    connectors.mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                              scope=group.group_scope, grant="cn=Ops,dc=example,dc=com", check=False,
                              mfa_verified_at=at)
    return target, f"|group-member@{group.group_scope.path}|cn=Ops,dc=example,dc=com", at


def _latest(key):
    return ConfigVersion.objects.filter(kind="connector_mapping", key=key).first()


def test_deleting_the_target_records_each_mapping_removed(global_admin, mapped):
    target, tail, at = mapped
    connectors.target_delete(actor=global_admin, target=target, mfa_verified_at=at)
    assert _latest("LDAP" + tail).data is None


def test_renaming_the_target_moves_its_mappings_keys(global_admin, mapped):
    target, tail, at = mapped
    connectors.target_update(actor=global_admin, target=target, name="Corporate LDAP", config=CONFIG, enabled=True,
                             mfa_verified_at=at)
    assert _latest("LDAP" + tail).data is None
    assert _latest("Corporate LDAP" + tail).data == {"options": {}, "enabled": True}


def test_under_dual_control_the_target_cannot_take_its_mappings_away(directory, global_admin, as_verified, mapped):
    target, tail, at = mapped
    policy.dual_control_set(actor=as_verified(global_admin), scope=directory.root, enabled=True)
    with pytest.raises(DomainError) as refused:
        connectors.target_delete(actor=global_admin, target=target, mfa_verified_at=at)
    assert refused.value.code == "conflict"
    assert policy.KINDS["connector_mapping"].snapshot("LDAP" + tail) is not None
