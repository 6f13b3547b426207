from django.urls import reverse

from assignments.models import Principal
from core.actors import Actor

from .conftest import rows_of

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def test_create_role_assignable_group_and_see_its_members_and_owners(directory, pra_client):
    page = pra_client.get(reverse("assignments:group_create"))
    assert "Role-assignable is fixed at creation." in page.content.decode()

    response = pra_client.post(reverse("assignments:group_create"), {
        "display_name": "Tier-0 admins", "description": "Break-glass helpers", "role_assignable": "on",
    })
    group = Principal.objects.get(display_name="Tier-0 admins")
    assert response.status_code == 302
    assert group.role_assignable is True and group.group_scope.path == f"/groups/{group.object_id}"

    member = directory.user("memberbob")
    owner = directory.user("ownerann")
    directory.add_member(group, member)
    directory.grant(owner, "group-owner", group.group_scope)
    detail = pra_client.get(reverse("assignments:principal", args=[group.pk]))
    content = detail.content.decode()
    assert "role-assignable (can hold directory roles)" in content
    assert [a.principal for a in detail.context["members"]] == [member.principal]
    assert [a.principal for a in detail.context["owners"]] == [owner.principal]
    assert "Add a member" in content


def test_service_principal_is_created_from_the_page(directory, pra_client):
    response = pra_client.post(reverse("assignments:service_principal_create"), {"display_name": "deploy-bot"},
                               follow=True)
    assert "Service principal deploy-bot created" in response.content.decode()
    assert Principal.objects.get(display_name="deploy-bot").kind == "service_principal"


def test_reader_lists_the_directory_but_cannot_create(directory, login):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    directory.user("listed.larry")
    client = login(reader)
    listing = client.get(reverse("assignments:principals") + "?q=larry")
    assert "Listed.Larry" in rows_of(listing)
    assert client.get(reverse("assignments:group_create")).status_code == 403
    assert client.post(reverse("assignments:service_principal_create"), {"display_name": "x"}).status_code == 403
    assert not Principal.objects.filter(display_name="x").exists()


def test_empty_group_name_is_a_form_error(pra_client):
    response = pra_client.post(reverse("assignments:group_create"), {"display_name": ""})
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()


def test_directory_filters_groups_by_role_assignable_and_users_by_state(directory, pra_client):
    directory.group("Tier zero", role_assignable=True)
    directory.group("Plain team")
    url = reverse("assignments:principals")
    groups = rows_of(pra_client.get(url + "?kind=group&role_assignable=true"))
    assert "Tier zero" in groups and "Plain team" not in groups
    from assignments import services

    gone = directory.user("gone.gary")
    services.user_set_enabled(user=gone, enabled=False, actor=SETUP)
    disabled = rows_of(pra_client.get(url + "?kind=user&enabled=false"))
    assert "Gone.Gary" in disabled and "Rolead" not in disabled
