from django.urls import reverse

from assignments import services
from assignments.models import RoleSetting
from core.actors import Actor

from .test_role_settings_editor_saves_every_field import _full_post

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def rows_of_text(content):
    return "".join(part.split("</tbody>")[0] for part in content.split("<tbody>")[1:])


def test_resource_role_policy_is_inherited_then_overridden_below(directory, login):
    owner_role = directory.role("owner")
    sub = directory.scope("/subscriptions/s1")
    rg = directory.scope("/subscriptions/s1/resourceGroups/rg1")
    services.role_setting_update(actor=SETUP, role=owner_role, scope=sub, values={"max_activation_minutes": 60})
    admin = directory.user("subowner")
    directory.grant(admin, "owner", "/subscriptions/s1")
    client = login(admin)
    url = reverse("assignments:role_setting", args=[owner_role.pk])

    page = client.get(url + "?scope=/subscriptions/s1/resourceGroups/rg1")
    content = page.content.decode()
    assert page.status_code == 200
    assert "Inherited from <span class=\"scope-path\">/subscriptions/s1</span>" in content
    assert page.context["effective"].max_activation_minutes == 60

    data = _full_post(directory, [])
    data["scope"] = rg.path
    data["max_activation_minutes"] = "120"
    saved = client.post(url, data)
    assert saved.status_code == 302
    assert RoleSetting.objects.get(role=owner_role, scope=rg).max_activation_minutes == 120
    assert RoleSetting.objects.get(role=owner_role, scope=sub).max_activation_minutes == 60
    assert "Defined at this scope." in client.get(url + f"?scope={rg.path}").content.decode()


def test_owner_of_a_subscription_may_not_edit_the_root_default(directory, login):
    owner_role = directory.role("owner")
    directory.scope("/subscriptions/s1")
    admin = directory.user("subowner")
    directory.grant(admin, "owner", "/subscriptions/s1")
    response = login(admin).post(reverse("assignments:role_setting", args=[owner_role.pk]),
                                 _full_post(directory, []))
    assert response.status_code == 403
    assert "You may not" in response.content.decode()


def test_role_settings_list_names_each_role_and_links_to_its_editor(directory, pra_client):
    response = pra_client.get(reverse("assignments:role_settings"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Global Administrator" in content and "Directory roles" in content
    role = directory.role("global-reader")
    opened = pra_client.get(reverse("assignments:role_setting_open") + f"?role={role.pk}&scope=/")
    assert opened.status_code == 302
    assert opened["Location"].startswith(reverse("assignments:role_setting", args=[role.pk]))


def test_list_links_only_to_policies_the_user_may_open(directory, login):
    owner_role = directory.role("owner")
    sub = directory.scope("/subscriptions/s1")
    services.role_setting_update(actor=SETUP, role=owner_role, scope=sub, values={"max_activation_minutes": 60})
    services.role_setting_update(actor=SETUP, role=owner_role, scope=directory.scope("/subscriptions/s2"),
                                 values={"max_activation_minutes": 120})
    admin = directory.user("subowner")
    directory.grant(admin, "owner", "/subscriptions/s1")
    content = login(admin).get(reverse("assignments:role_settings")).content.decode()
    editor = reverse("assignments:role_setting", args=[owner_role.pk])
    assert f"{editor}?scope=/subscriptions/s1" in content.replace("%2F", "/")
    assert "/subscriptions/s2" not in content
    assert f"{editor}?scope=/\"" not in content.replace("%2F", "/")
    assert "Global Administrator" not in rows_of_text(content)  # no directory-role rows
