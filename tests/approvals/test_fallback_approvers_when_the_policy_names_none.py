from approvals import selectors


def test_directory_roles_fall_back_to_privileged_role_and_global_administrators(
        directory, requester, policy, eligible, activate, role_admin, global_admin):
    policy("helpdesk-administrator", require_approval=True)
    request = activate(requester, eligible(requester))
    bystander = directory.user("bystander")
    assert selectors.approver_can_decide(user=role_admin, request=request)
    assert selectors.approver_can_decide(user=global_admin, request=request)
    assert not selectors.approver_can_decide(user=bystander, request=request)


def test_resource_roles_fall_back_to_owners_and_uaa_at_the_scope_or_above(
        directory, requester, policy, activate, global_admin):
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    policy("contributor", require_approval=True)
    sub_owner, uaa_rg, other_owner = directory.user("subowner"), directory.user("uaarg"), directory.user("s2owner")
    directory.grant(sub_owner, "owner", "/subscriptions/s1")
    directory.grant(uaa_rg, "user-access-administrator", rg)
    directory.grant(other_owner, "owner", "/subscriptions/s2")
    eligibility = directory.grant(requester, "contributor", rg, kind="eligible")
    request = activate(requester, eligibility)
    assert selectors.approver_can_decide(user=sub_owner, request=request)
    assert selectors.approver_can_decide(user=uaa_rg, request=request)
    assert not selectors.approver_can_decide(user=other_owner, request=request)
    assert not selectors.approver_can_decide(user=global_admin, request=request)  # directory admins do not


def test_group_roles_fall_back_to_the_groups_owners(directory, requester, policy, activate, role_admin):
    group = directory.group("Ops")
    policy("group-member", scope=group.group_scope, require_approval=True)
    owner = directory.user("owner")
    directory.grant(owner, "group-owner", group.group_scope)
    eligibility = directory.add_member(group, requester, kind="eligible")
    request = activate(requester, eligibility)
    assert selectors.approver_can_decide(user=owner, request=request)
    assert not selectors.approver_can_decide(user=role_admin, request=request)
    assert [r.pk for r in selectors.request_list_pending_for_approver(user=owner)] == [request.pk]
