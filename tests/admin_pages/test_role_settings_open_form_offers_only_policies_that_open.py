"""The role settings "open" form offers only the roles and scopes whose policy opens for the person: every
offered role opens at every offered scope where such a role can have a policy, and the editor shows it;
what would be refused is not offered, and typed anyway it is a form error on the list page, not a 403."""

import re

from django.urls import reverse

from assignments.models import RoleDefinition


def _offered(response) -> tuple[list[RoleDefinition], list[str]]:
    html = response.content.decode()
    select = re.search(r'<select name="role".*?</select>', html, re.S).group(0)
    role_ids = [int(v) for v in re.findall(r'<option value="(\d+)"', select)]
    datalist = re.search(r'<datalist id="id_scope-choices">(.*?)</datalist>', html, re.S).group(1)
    paths = re.findall(r'<option value="([^"]+)"', datalist)
    return list(RoleDefinition.objects.filter(pk__in=role_ids)), paths


def _opens(client, role, path) -> bool:
    opened = client.get(reverse("assignments:role_setting_open"), {"role": role.pk, "scope": path})
    if opened.status_code != 302:
        return False
    return client.get(opened["Location"]).status_code == 200


def _fits(role, path, directory) -> bool:
    scope = directory.scope(path)
    return scope.is_root or scope.kind in {
        RoleDefinition.Kind.DIRECTORY: ["directory"], RoleDefinition.Kind.GROUP: ["group"],
    }.get(role.kind, [k for k in ("directory", "management_group", "subscription", "resource_group", "resource")])


def test_a_subscription_owner_is_offered_resource_roles_at_their_scopes_only(directory, login):
    directory.scope("/subscriptions/s1")
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.scope("/subscriptions/s2")
    owner = directory.user("subowner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    client = login(owner)
    page = client.get(reverse("assignments:role_settings"))
    assert page.status_code == 200
    roles, paths = _offered(page)
    assert roles and {role.kind for role in roles} == {RoleDefinition.Kind.RESOURCE}
    assert paths == ["/subscriptions/s1", "/subscriptions/s1/resourceGroups/rg1"]
    assert 'value="/subscriptions/s1"' in re.search(r'<input[^>]*name="scope"[^>]*>', page.content.decode()).group(0)
    for role in roles:
        for path in paths:
            assert _opens(client, role, path), (role.slug, path)

    # Not offered, and refused on the list page with the reason when typed anyway.
    owner_role = directory.role("owner")
    for role, path in ((owner_role, "/"), (owner_role, "/subscriptions/s2"),
                       (directory.role("global-administrator"), "/")):
        refused = client.get(reverse("assignments:role_setting_open"), {"role": role.pk, "scope": path})
        assert refused.status_code == 400, (role.slug, path)
        assert 'class="error-summary" role="alert"' in refused.content.decode()


def test_a_role_administrator_is_offered_directory_and_group_roles_that_open(directory, login, role_admin):
    group = directory.group("payroll-admins", role_assignable=True)
    client = login(role_admin)
    roles, paths = _offered(client.get(reverse("assignments:role_settings")))
    assert {role.kind for role in roles} == {RoleDefinition.Kind.DIRECTORY, RoleDefinition.Kind.GROUP}
    assert "/" in paths and any(path.startswith("/groups/") or path.endswith(str(group.object_id)) for path in paths)
    for role in roles:
        for path in paths:
            if _fits(role, path, directory):
                assert _opens(client, role, path), (role.slug, path)
