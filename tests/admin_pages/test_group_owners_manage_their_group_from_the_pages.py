from django.urls import reverse

from assignments.models import Assignment, RoleSetting

from .test_role_settings_editor_saves_every_field import _full_post


def test_group_owner_adds_a_member_and_sets_the_group_policy(directory, login):
    group = directory.group("Ops on-call")
    owner = directory.user("groupowner")
    directory.grant(owner, "group-owner", group.group_scope)
    newcomer = directory.user("newcomer")
    client = login(owner)

    page = client.get(reverse("assignments:principal", args=[group.pk]))
    assert page.status_code == 200 and page.context["can_manage_members"] is True
    assert [label for label, _ in page.context["policy_urls"]] == ["Member policy", "Owner policy"]
    response = client.post(reverse("assignments:assign"), {
        "principal": newcomer.principal.pk, "role": directory.role("group-member").pk, "scope": group.group_scope.path,
        "kind": "eligible", "permanent": "on",
    })
    assert response.status_code == 302
    assert Assignment.objects.filter(principal=newcomer.principal, scope=group.group_scope, kind="eligible").exists()

    member_role = directory.role("group-member")
    url = reverse("assignments:role_setting", args=[member_role.pk]) + f"?scope={group.group_scope.path}"
    inherited = client.get(url)
    assert inherited.context["inherited"] is True
    data = _full_post(directory, [])
    data["scope"] = group.group_scope.path
    assert client.post(reverse("assignments:role_setting", args=[member_role.pk]), data).status_code == 302
    assert RoleSetting.objects.get(role=member_role, scope=group.group_scope).max_activation_minutes == 90


def test_group_owner_cannot_manage_another_group(directory, login):
    mine, other = directory.group("Mine"), directory.group("Other")
    owner = directory.user("groupowner")
    directory.grant(owner, "group-owner", mine.group_scope)
    response = login(owner).post(reverse("assignments:assign"), {
        "principal": directory.user().principal.pk, "role": directory.role("group-member").pk,
        "scope": other.group_scope.path, "kind": "eligible", "permanent": "on",
    })
    assert response.status_code == 403
    assert not Assignment.objects.filter(scope=other.group_scope).exists()


def test_reader_is_told_membership_is_not_theirs_to_see(directory, login):
    group = directory.group("Private")
    directory.add_member(group, directory.user("hidden.member"))
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    page = login(reader).get(reverse("assignments:principal", args=[group.pk]))
    content = page.content.decode()
    assert "Only the group's owners, Privileged Role Administrators and Global Administrators see" in content
    assert "Hidden.Member" not in content


def test_approver_picker_works_without_javascript(directory, pra_client):
    directory.user("approver.amy")
    role = directory.role("exchange-administrator")
    response = pra_client.post(reverse("assignments:role_setting", args=[role.pk]), {
        "scope": "/", "approver_q": "amy", "_search": "approvers", "max_activation_minutes": "75",
    })
    content = response.content.decode()
    assert response.status_code == 200
    assert 'type="checkbox" name="approvers"' in content and "Approver.Amy" in content
    assert response.context["form"].initial["max_activation_minutes"] == "75"
    assert RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes != 75
