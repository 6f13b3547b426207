"""A scope is deleted only when empty: no child, no assignment (live or kept as history), no role
setting; the refusal says what is left. Renaming changes the display name, never the id."""

import pytest
from django.utils import timezone

from assignments import services
from assignments.models import Scope, ScopeClosure
from audit.models import AuditEvent
from core.errors import DomainError


def test_delete_refusals_name_what_is_left_then_an_empty_scope_goes(directory, global_admin):
    now = timezone.now()
    sub = directory.scope("/subscriptions/del")
    rg = directory.scope("/subscriptions/del/resourceGroups/rg")
    with pytest.raises(DomainError) as raised:
        services.scope_delete(scope=sub, actor=global_admin, mfa_verified_at=now)
    assert raised.value.code == "conflict" and "1 child scope" in raised.value.message
    directory.grant(directory.user("holder"), "reader", rg)
    with pytest.raises(DomainError) as raised:
        services.scope_delete(scope=rg, actor=global_admin, mfa_verified_at=now)
    assert "1 current assignment" in raised.value.message
    services.role_setting_update(actor=_system(), role=directory.role("reader"), scope=sub,
                                 values={"max_activation_minutes": 120})
    empty = directory.scope("/subscriptions/del2")
    services.role_setting_update(actor=_system(), role=directory.role("reader"), scope=empty,
                                 values={"max_activation_minutes": 120})
    with pytest.raises(DomainError) as raised:
        services.scope_delete(scope=empty, actor=global_admin, mfa_verified_at=now)
    assert "1 role setting" in raised.value.message
    assert AuditEvent.objects.filter(action="scope.delete", outcome="denied").count() == 3

    leaf = directory.scope("/subscriptions/del/resourceGroups/empty")
    services.scope_delete(scope=leaf, actor=global_admin, mfa_verified_at=now)
    assert not Scope.objects.filter(path=leaf.path).exists()
    assert not ScopeClosure.objects.filter(descendant_id=leaf.pk).exists()
    assert AuditEvent.objects.filter(action="scope.delete", outcome="success", scope_path=leaf.path).exists()


def test_root_and_group_scopes_are_not_deleted_or_renamed(directory, global_admin):
    group = directory.group("Team")
    for scope in (directory.root, group.group_scope):
        with pytest.raises(DomainError):
            services.scope_delete(scope=scope, actor=global_admin, mfa_verified_at=timezone.now())
        with pytest.raises(DomainError):
            services.scope_rename(scope=scope, display_name="x", actor=global_admin, mfa_verified_at=timezone.now())


def test_rename_keeps_the_id(directory, global_admin):
    sub = directory.scope("/subscriptions/ren")
    renamed, changed = services.scope_rename(scope=sub, display_name="Production", actor=global_admin,
                                             mfa_verified_at=timezone.now())
    assert changed and renamed.path == "/subscriptions/ren" and renamed.display_name == "Production"
    assert services.scope_rename(scope=renamed, display_name="Production", actor=global_admin,
                                 mfa_verified_at=timezone.now())[1] is False


def _system():
    from core.actors import Actor

    return Actor.system("test")
