"""Users, scopes, roles and the bulk import are refused to people without the administering role, in the
services (audited as denied), the pages (403) and the API (403)."""

import pytest
from django.urls import reverse
from django.utils import timezone

from assignments import services
from audit.models import AuditEvent
from core.errors import DomainError


def test_services_refuse_and_audit(directory):
    now = timezone.now()
    nobody = directory.user("nobody")
    target = directory.user("target")
    sub = directory.scope("/subscriptions/perm")
    calls = {
        "user.update": lambda: services.user_update(user=target, actor=nobody, mfa_verified_at=now, email="x@y.z"),
        "user.set_enabled": lambda: services.user_set_enabled(user=target, enabled=False, actor=nobody,
                                                              mfa_verified_at=now),
        "scope.create": lambda: services.scope_add(kind="resource_group", name="rg", display_name="rg", parent=sub,
                                                   actor=nobody, mfa_verified_at=now),
        "scope.rename": lambda: services.scope_rename(scope=sub, display_name="x", actor=nobody, mfa_verified_at=now),
        "scope.move": lambda: services.scope_relocate(scope=sub, new_parent=directory.scope("/managementGroups/p"),
                                                      actor=nobody, mfa_verified_at=now),
        "scope.delete": lambda: services.scope_delete(scope=sub, actor=nobody, mfa_verified_at=now),
        "role.create": lambda: services.role_definition_add(slug="r", name="R", kind="directory", actions=["a/b"],
                                                            actor=nobody, mfa_verified_at=now),
    }
    for action, call in calls.items():
        with pytest.raises(DomainError) as raised:
            call()
        assert raised.value.code == "forbidden", action
        assert AuditEvent.objects.filter(action=action, outcome="denied", actor_id=nobody.pk).exists(), action


def test_an_owner_manages_scopes_below_their_own_only(directory):
    now = timezone.now()
    owner = directory.user("sub-owner")
    mine = directory.scope("/subscriptions/mine")
    directory.grant(owner, "owner", mine)
    rg = services.scope_add(kind="resource_group", name="rg-owned", display_name="", parent=mine, actor=owner,
                            mfa_verified_at=now)
    assert rg.path == "/subscriptions/mine/resourceGroups/rg-owned" and rg.display_name == "rg-owned"
    with pytest.raises(DomainError):
        services.scope_add(kind="subscription", name="theirs", display_name="", parent=directory.root, actor=owner,
                           mfa_verified_at=now)


def test_pages_answer_403(client, directory):
    user = directory.user("plain")
    client.force_login(user)
    for name, args in (("directory:user_create", []), ("directory:user_edit", [user.pk]),
                       ("directory:user_offboard", [user.pk]), ("directory:scopes", []),
                       ("directory:scope_create", []), ("directory:roles", []), ("directory:role_create", []),
                       ("directory:import", []), ("directory:export", [])):
        assert client.get(reverse(name, args=args)).status_code == 403, name
