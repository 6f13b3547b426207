"""The assign form offers only what the assignment service would accept: roles the person may assign
somewhere (a Privileged Role Administrator who owns nothing is not offered resource roles), and for a
role only the scopes where it applies and the person may assign it (a directory role: `/` alone).
Every offered choice succeeds; a refused one is not offered."""

import re

from django.urls import reverse

from assignments.models import Assignment, RoleDefinition


def _offered_role_ids(html: str) -> set[int]:
    select = html.split('name="role"')[1].split("</select>")[0]
    return {int(v) for v in re.findall(r'<option value="(\d+)"', select)}


def _offered_scopes(client, role, q="") -> list[str]:
    response = client.get(reverse("assignments:scope_search"), {"q": q, "role": role.pk})
    assert response.status_code == 200
    return [item["value"] for item in response.json()["results"]]


def _assign(client, principal, role, scope_path, later):
    return client.post(reverse("assignments:assign"), {
        "principal": principal.pk, "role": role.pk, "scope": scope_path, "kind": "eligible",
        "end_at": later(days=7).strftime("%Y-%m-%dT%H:%M"), "justification": "offered, so it works"})


def test_a_role_administrator_is_offered_directory_and_group_roles_not_resource_roles(directory, role_admin,
                                                                                     login):
    directory.scope("/subscriptions/s1")
    directory.group("Ops")
    client = login(role_admin)
    offered = _offered_role_ids(client.get(reverse("assignments:assign")).content.decode())
    kinds = set(RoleDefinition.objects.filter(pk__in=offered).values_list("kind", flat=True))
    assert kinds == {"directory", "group"}
    assert directory.role("owner").pk not in offered and directory.role("contributor").pk not in offered


def test_a_directory_role_is_offered_only_at_the_root(directory, role_admin, login):
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.group("Ops")
    client = login(role_admin)
    assert _offered_scopes(client, directory.role("exchange-administrator")) == ["/"]


def test_a_subscription_owner_is_offered_resource_roles_at_their_subscription_and_below(directory, login, later):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.scope("/subscriptions/s2")
    directory.group("Ops")
    client = login(owner)

    offered_roles = RoleDefinition.objects.filter(
        pk__in=_offered_role_ids(client.get(reverse("assignments:assign")).content.decode()))
    assert set(offered_roles.values_list("kind", flat=True)) == {"resource"}
    contributor = directory.role("contributor")
    scopes = _offered_scopes(client, contributor)
    assert set(scopes) == {"/subscriptions/s1", "/subscriptions/s1/resourceGroups/rg1"}

    # A refused choice is not offered: it is refused when typed in anyway.
    refused = _assign(client, directory.user("x").principal, contributor, "/subscriptions/s2", later)
    assert refused.status_code == 403 and not Assignment.objects.filter(scope__path="/subscriptions/s2").exists()


def test_every_offered_role_and_scope_can_be_assigned(directory, login, later, role_admin):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.scope("/subscriptions/s2")
    directory.group("Ops")
    for who in (owner, role_admin):
        client = login(who)
        target = directory.user().principal
        offered = RoleDefinition.objects.filter(
            pk__in=_offered_role_ids(client.get(reverse("assignments:assign")).content.decode()))
        assert offered.exists()
        tried = 0
        for role in offered:
            for scope_path in _offered_scopes(client, role)[:3]:
                response = _assign(client, target, role, scope_path, later)
                assert response.status_code == 302, (who, role.slug, scope_path, response.content.decode()[-3000:])
                tried += 1
        assert tried >= offered.count()


def test_the_page_search_without_javascript_filters_scopes_by_the_chosen_role(directory, role_admin, login):
    directory.scope("/subscriptions/s1")
    client = login(role_admin)
    role = directory.role("exchange-administrator")
    page = client.post(reverse("assignments:assign"), {"role": role.pk, "scope_q": "", "_search": "scope",
                                                       "kind": "eligible"}).content.decode()
    assert 'value="/subscriptions/s1"' not in page and 'name="scope" value="/"' in page
