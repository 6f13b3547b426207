from datetime import timedelta

from django.utils import timezone

from assignments import services
from assignments.access import access_find_grant, access_find_permission_grant
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

RG = "/subscriptions/s1/resourceGroups/rg1"
VM = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"


def test_a_role_at_an_ancestor_applies_below_but_not_above_or_beside(directory):
    user = directory.user()
    directory.scope(VM)
    directory.grant(user, "reader", RG)
    assert access_find_grant(principal=user.principal, role="reader", scope=VM)
    assert access_find_grant(principal=user.principal, role="reader", scope=RG)
    assert not access_find_grant(principal=user.principal, role="reader", scope="/subscriptions/s1")
    assert not access_find_grant(
        principal=user.principal, role="reader", scope=directory.scope("/subscriptions/s1/resourceGroups/rg2")
    )


def test_management_group_assignment_reaches_subscriptions_moved_under_it(directory):
    mg = directory.scope("/providers/Microsoft.Management/managementGroups/prod")
    sub = directory.scope("/subscriptions/s7")
    user = directory.user()
    directory.grant(user, "reader", mg)
    assert not access_find_grant(principal=user.principal, role="reader", scope=sub)
    services.scope_move(scope=sub, new_parent=mg, actor=SETUP)
    assert access_find_grant(
        principal=user.principal, role="reader", scope=directory.scope(f"{sub.path}/resourceGroups/x")
    )


def test_group_membership_is_an_assignment_with_its_own_time_window(directory):
    user, group = directory.user(), directory.group(role_assignable=True)
    directory.grant(group, "exchange-administrator")
    end = timezone.now() + timedelta(hours=1)
    directory.add_member(group, user, end=end)
    grant = access_find_grant(principal=user.principal, role="exchange-administrator", scope="/")
    assert grant.via_group_id == group.pk
    assert not access_find_grant(principal=user.principal, role="exchange-administrator", scope="/", at=end)


def test_eligible_membership_grants_nothing_until_activated(directory):
    user, group = directory.user(), directory.group()
    directory.grant(group, "reader", "/subscriptions/s1")
    directory.add_member(group, user, kind="eligible")
    assert not access_find_grant(principal=user.principal, role="reader", scope="/subscriptions/s1")


def test_disabled_users_and_groups_hold_nothing(directory):
    user, group, member = directory.user(), directory.group(), directory.user()
    directory.grant(user, "reader", "/subscriptions/s1")
    directory.grant(group, "reader", "/subscriptions/s1")
    directory.add_member(group, member)
    services.user_set_enabled(user=user, enabled=False, actor=SETUP)
    assert not access_find_grant(principal=user.principal, role="reader", scope="/subscriptions/s1")
    assert access_find_grant(principal=member.principal, role="reader", scope="/subscriptions/s1")
    group.enabled = False
    group.save(update_fields=["enabled"])
    assert not access_find_grant(principal=member.principal, role="reader", scope="/subscriptions/s1")


def test_permission_actions_honour_wildcards_and_not_actions(directory):
    user = directory.user()
    directory.grant(user, "contributor", "/subscriptions/s1")
    directory.scope(RG)

    def check(action):
        return access_find_permission_grant(principal=user.principal, action=action, scope=RG)

    assert check("Microsoft.Compute/virtualMachines/write")
    assert check("microsoft.compute/VIRTUALMACHINES/write")  # actions are case-insensitive
    assert not check("Microsoft.Authorization/roleAssignments/write")  # a NotAction of Contributor
    assert check("Microsoft.Authorization/roleAssignments/read")


def test_unknown_scope_is_denied(directory):
    user = directory.user()
    directory.grant(user, "reader", "/subscriptions/s1")
    assert not access_find_grant(principal=user.principal, role="reader", scope="/subscriptions/s1/resourceGroups/nope")


def test_like_wildcards_in_actions_are_literal(directory):
    user = directory.user()
    directory.grant(user, "helpdesk-administrator")
    assert access_find_permission_grant(
        principal=user.principal, action="microsoft.directory/users/password/update", scope="/"
    )
    # "_" and "%" are not wildcards in patterns or actions.
    assert not access_find_permission_grant(
        principal=user.principal, action="microsoft.directory/users/password%", scope="/"
    )


def test_principal_group_ids_lists_active_memberships_of_enabled_groups(directory):
    from assignments.selectors import principal_group_ids

    user, active, eligible_only, disabled = directory.user(), directory.group(), directory.group(), directory.group()
    directory.add_member(active, user)
    directory.add_member(eligible_only, user, kind="eligible")
    directory.add_member(disabled, user)
    disabled.enabled = False
    disabled.save(update_fields=["enabled"])
    assert principal_group_ids(principal=user.principal) == [active.pk]
