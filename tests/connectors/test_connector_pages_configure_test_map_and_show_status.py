"""The Connectors pages: an administrator adds a target (the secret is never shown again), tests the
connection, maps a role and sees effects and drift with their fixes; bad settings come back as field
errors; people who are not role administrators are refused."""

import pytest
from django.urls import reverse

from connectors.models import Mapping, Target
from tests import slapd as slapd_module
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


def _config_post(config: dict, **extra) -> dict:
    data = {f"config_{k}": ("\n".join(v) if isinstance(v, list) else v) for k, v in config.items()}
    return {**data, **extra}


def test_an_administrator_adds_tests_and_maps_an_ldap_target(client, slapd, global_admin, db_admins_group):
    client.force_login(global_admin)
    mark_mfa_verified(client)
    response = client.post(reverse("connectors:target_create", args=["ldap"]), _config_post(
        slapd.target_config(), name="Corporate LDAP", secret=slapd_module.ROOT_PASSWORD, enabled="on"))
    target = Target.objects.get(name="Corporate LDAP")
    assert response.status_code == 302 and response.url == reverse("connectors:target", args=[target.pk])
    assert slapd_module.ROOT_PASSWORD not in target.secret_sealed

    page = client.get(response.url).content.decode()
    assert slapd_module.ROOT_PASSWORD not in page and "stored (encrypted; not shown)" in page

    client.post(reverse("connectors:target_test", args=[target.pk]))
    target.refresh_from_db()
    assert target.status == "ok" and "Bound to" in target.status_message

    group_dn = slapd.add_group("DB-Admins")
    response = client.post(reverse("connectors:mapping_create", args=[target.pk]), {
        "role": db_admins_group.group_scope and _member_role_pk(), "scope": db_admins_group.group_scope.path,
        "grant": group_dn, "reason": "DB admins in LDAP"})
    assert response.status_code == 302
    assert Mapping.objects.get(target=target).grant == group_dn

    response = client.post(reverse("connectors:mapping_create", args=[target.pk]), {
        "role": _member_role_pk(), "scope": db_admins_group.group_scope.path,
        "grant": f"cn=missing,{slapd_module.GROUPS}", "reason": "test"})
    assert response.status_code == 400 and "no such object" in response.content.decode()


def _member_role_pk():
    from assignments.models import RoleDefinition

    return RoleDefinition.objects.get(slug="group-member").pk


def test_bad_settings_are_field_errors_and_the_status_shows_an_unreachable_server(client, global_admin):
    client.force_login(global_admin)
    mark_mfa_verified(client)
    url = reverse("connectors:target_create", args=["ldap"])
    response = client.post(url, _config_post({"server_url": "http://nope", "member_attribute": "member",
                                              "user_dn_template": "uid=x"}, name="x"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "ldap:// or ldaps://" in body and "{username} once" in body
    assert not Target.objects.exists()

    from tests.slapd import free_port

    response = client.post(url, _config_post({"server_url": f"ldap://127.0.0.1:{free_port()}",
                                              "member_attribute": "member", "timeout_seconds": 2,
                                              "user_dn_template": "uid={username},dc=example,dc=org"}, name="down"))
    target = Target.objects.get(name="down")
    client.post(reverse("connectors:target_test", args=[target.pk]))
    page = client.get(reverse("connectors:target", args=[target.pk])).content.decode()
    assert 'data-testid="target-status-message"' in page and "Could not connect" in page


def test_the_pages_are_for_role_administrators_only(client, directory):
    someone = directory.user("someone")
    client.force_login(someone)
    assert client.get(reverse("connectors:index")).status_code == 403
    assert client.get(reverse("connectors:target_create", args=["ldap"])).status_code == 403


def test_a_mapping_is_edited_on_the_target_page_with_a_fresh_verification(client, slapd, mapped_ldap_group,
                                                                         ldap_target, global_admin):
    mapping, old_dn = mapped_ldap_group
    new_dn = slapd.add_group("DB-Operators")
    url = reverse("connectors:mapping_update", args=[ldap_target.pk, mapping.pk])
    prefix = f"mapping-{mapping.pk}"
    data = {f"{prefix}-role": _member_role_pk(), f"{prefix}-scope": mapping.scope.path, f"{prefix}-grant": new_dn,
            f"{prefix}-reason": "the team moved"}
    client.force_login(global_admin)

    page = client.get(reverse("connectors:target", args=[ldap_target.pk])).content.decode()
    assert 'data-testid="mapping-edit"' in page and url in page

    stale = client.post(url, data)  # no fresh MFA verification: to the step-up first, nothing changed
    assert stale.status_code == 302 and stale.url.startswith(reverse("accounts:verify"))
    assert Mapping.objects.get(pk=mapping.pk).grant == old_dn

    mark_mfa_verified(client)
    refused = client.post(url, {**data, f"{prefix}-grant": f"cn=missing,{slapd_module.GROUPS}"})
    body = refused.content.decode()
    assert refused.status_code == 400 and "no such object" in body and "<details open" in body
    assert Mapping.objects.get(pk=mapping.pk).grant == old_dn

    saved = client.post(url, data)
    assert saved.status_code == 302 and Mapping.objects.get(pk=mapping.pk).grant == new_dn
