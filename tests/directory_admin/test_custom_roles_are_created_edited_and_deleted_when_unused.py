"""Custom directory and resource roles: created with actions / not-actions and the privileged label,
edited (the access check follows at commit), deleted only while unused; built-in roles are read-only."""

import pytest
from django.utils import timezone

from assignments import services
from assignments.access import access_find_permission_grant
from assignments.models import RoleDefinition, RolePermission
from audit.models import AuditEvent
from core.errors import DomainError


def test_custom_role_lifecycle(directory, role_admin):
    now = timezone.now()
    role = services.role_definition_add(slug="", name="VM Operator", kind="resource",
                                        actions=["Microsoft.Compute/virtualMachines/*", "  "],
                                        not_actions=["Microsoft.Compute/virtualMachines/delete"],
                                        is_privileged=False, actor=role_admin, mfa_verified_at=now)
    assert (role.slug, role.is_builtin) == ("vm-operator", False)
    holder = directory.user("operator")
    directory.roles[role.slug] = role
    directory.grant(holder, "vm-operator", "/subscriptions/ops", kind="active")
    scope = "/subscriptions/ops"
    assert access_find_permission_grant(principal=holder.principal, action="microsoft.compute/virtualmachines/start",
                                        scope=scope)
    assert not access_find_permission_grant(principal=holder.principal,
                                            action="microsoft.compute/virtualmachines/delete", scope=scope)

    updated, changed = services.role_definition_update(
        role=role, actor=role_admin, mfa_verified_at=now, name="VM Operator (read)", is_privileged=True,
        actions=["Microsoft.Compute/virtualMachines/read"], not_actions=[])
    assert changed and updated.is_privileged and updated.name == "VM Operator (read)"
    assert list(RolePermission.objects.filter(role=role).values_list("pattern", flat=True)) == [
        "Microsoft.Compute/virtualMachines/read"]
    assert not access_find_permission_grant(principal=holder.principal,
                                            action="microsoft.compute/virtualmachines/start", scope=scope)
    event = AuditEvent.objects.get(action="role.update")
    assert event.before["actions"] == ["Microsoft.Compute/virtualMachines/*"]
    assert services.role_definition_update(role=updated, actor=role_admin, mfa_verified_at=now,
                                           name="VM Operator (read)")[1] is False

    with pytest.raises(DomainError) as raised:
        services.role_definition_delete(role=updated, actor=role_admin, mfa_verified_at=now)
    assert raised.value.code == "conflict" and "in use" in raised.value.message

    unused = services.role_definition_add(slug="mail-reader", name="Mail reader", kind="directory",
                                          actions=["microsoft.exchange/mailboxes/read"], actor=role_admin,
                                          mfa_verified_at=now)
    services.role_definition_delete(role=unused, actor=role_admin, mfa_verified_at=now)
    assert not RoleDefinition.objects.filter(slug="mail-reader").exists()
    assert AuditEvent.objects.filter(action="role.delete", target_label="Mail reader").exists()


def test_builtin_roles_are_read_only_and_bad_input_is_refused(directory, role_admin):
    now = timezone.now()
    builtin = directory.role("global-administrator")
    for call in (lambda: services.role_definition_update(role=builtin, actor=role_admin, mfa_verified_at=now,
                                                         name="Everything"),
                 lambda: services.role_definition_delete(role=builtin, actor=role_admin, mfa_verified_at=now)):
        with pytest.raises(DomainError) as raised:
            call()
        assert raised.value.code == "forbidden" and "built-in" in raised.value.message
    bad = [
        ({"kind": "group"}, "kind"),
        ({"actions": []}, "actions"),
        ({"actions": ["users/*; DROP TABLE"]}, "actions"),
        ({"not_actions": ["bad pattern"]}, "not_actions"),
        ({"name": "Global Administrator"}, None),  # a name taken, case-insensitively: conflict
    ]
    for change, field in bad:
        arguments = {"slug": "x-role", "name": "X role", "kind": "directory", "actions": ["a/b"], **change}
        with pytest.raises(DomainError) as raised:
            services.role_definition_add(actor=role_admin, mfa_verified_at=now, **arguments)
        assert raised.value.field == field, (change, raised.value.message)
