"""Moving a management group or subscription re-hangs its whole subtree in the closure table (the access
check reads it at commit); a move under itself or a descendant, or to a parent of the wrong kind, is
refused; resource groups and resources do not move (their id contains their parent's)."""

import pytest
from django.utils import timezone

from assignments import services
from assignments.access import access_has_any_role
from assignments.models import ScopeClosure
from core.errors import DomainError

MG = "/providers/Microsoft.Management/managementGroups/"


def _add(admin, kind, name, parent):
    return services.scope_add(kind=kind, name=name, display_name=name, parent=parent, actor=admin,
                              mfa_verified_at=timezone.now())


def _ancestors(scope):
    return set(ScopeClosure.objects.filter(descendant=scope).values_list("ancestor__path", "depth"))


def test_move_rewrites_the_subtree_and_the_access_check_follows(directory, global_admin):
    a = _add(global_admin, "management_group", "mg-a", directory.root)
    b = _add(global_admin, "management_group", "mg-b", directory.root)
    inner = _add(global_admin, "management_group", "mg-inner", a)
    sub = _add(global_admin, "subscription", "sub-moving", inner)
    rg = _add(global_admin, "resource_group", "rg", sub)
    owner = directory.user("owner-of-a")
    directory.grant(owner, "owner", a)
    assert access_has_any_role(principal=owner.principal, role_slugs=["owner"], scope=rg.path)

    moved, changed = services.scope_relocate(scope=inner, new_parent=b, actor=global_admin,
                                             mfa_verified_at=timezone.now())
    assert changed and moved.parent == b
    assert _ancestors(rg) == {(rg.path, 0), (sub.path, 1), (inner.path, 2), (MG + "mg-b", 3), ("/", 4)}
    assert _ancestors(inner) == {(inner.path, 0), (MG + "mg-b", 1), ("/", 2)}
    # Owner of A no longer reaches what left A.
    assert not access_has_any_role(principal=owner.principal, role_slugs=["owner"], scope=rg.path)
    # Moving it where it already is changes nothing.
    assert services.scope_relocate(scope=moved, new_parent=b, actor=global_admin,
                                   mfa_verified_at=timezone.now())[1] is False


def test_cycles_and_wrong_kinds_are_refused(directory, global_admin):
    a = _add(global_admin, "management_group", "cyc-a", directory.root)
    child = _add(global_admin, "management_group", "cyc-child", a)
    sub = _add(global_admin, "subscription", "cyc-sub", child)
    rg = _add(global_admin, "resource_group", "rg", sub)
    cases = [
        (a, child, "cannot be moved under itself or under one of its own descendants"),
        (a, a, "cannot be moved under itself"),
        (child, sub, "goes under a directory or management group"),
        (sub, rg, "goes under a directory or management group"),
        (rg, directory.scope("/subscriptions/other"), "Only management groups and subscriptions move"),
    ]
    before = set(ScopeClosure.objects.values_list("ancestor_id", "descendant_id", "depth"))
    for scope, new_parent, message in cases:
        with pytest.raises(DomainError) as raised:
            services.scope_relocate(scope=scope, new_parent=new_parent, actor=global_admin,
                                    mfa_verified_at=timezone.now())
        assert message in raised.value.message, (scope.path, raised.value.message)
    # scope_move itself, which jobs call without the page's checks, refuses them as well.
    for scope, new_parent, message in cases:
        with pytest.raises(DomainError) as raised:
            services.scope_move(scope=scope, new_parent=new_parent, actor=_system())
        assert message.split(":")[0] in raised.value.message
    assert set(ScopeClosure.objects.values_list("ancestor_id", "descendant_id", "depth")) == before


def test_adding_under_a_parent_of_the_wrong_kind_is_refused(directory, global_admin):
    sub = _add(global_admin, "subscription", "kinds-sub", directory.root)
    for kind, parent, message in (("resource_group", directory.root, "goes under a subscription"),
                                  ("management_group", sub, "goes under a directory or management group"),
                                  ("resource", sub, "goes under a resource group")):
        with pytest.raises(DomainError) as raised:
            services.scope_add(kind=kind, name="x" if kind != "resource" else "A.B/c/x", display_name="x",
                               parent=parent, actor=global_admin, mfa_verified_at=timezone.now())
        assert message in raised.value.message


def _system():
    from core.actors import Actor

    return Actor.system("test")
