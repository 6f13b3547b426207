"""Every change of versioned configuration made on its ordinary page or through the API says why: the role
settings page, the approval stages page, connector mappings (create and delete) and alert settings ask for a
reason; an empty one is a form error or a 400 and nothing changes; the reason given is the version's "why"
and the audit event's message."""

from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from alerts.models import AlertSetting
from assignments import services
from assignments.models import RoleSetting
from audit.models import AuditEvent
from connectors import services as connectors
from connectors.models import Mapping
from core.actors import Actor
from core.config_changes import config_change_reason
from policy.models import ConfigVersion
from tests.admin_pages.test_role_settings_editor_saves_every_field import _full_post
from tests.conftest import mark_mfa_verified

KEY = "exchange-administrator@/"


def _client(user, api=False):
    client = APIClient() if api else Client()
    client.force_login(user)
    mark_mfa_verified(client)
    return client


def _latest(kind: str, key: str) -> ConfigVersion | None:
    return ConfigVersion.objects.filter(kind=kind, key=key).order_by("-number").first()


def test_the_role_settings_page_refuses_a_change_without_a_reason_and_records_the_one_given(directory, role_admin):
    role = directory.role("exchange-administrator")
    url = reverse("assignments:role_setting", args=[role.pk])
    client = _client(role_admin)
    before = RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes
    data = {**_full_post(directory, []), "max_activation_minutes": "120", "reason": "  "}

    refused = client.post(url, data)
    assert refused.status_code == 400
    assert "Say why you make this change" in refused.content.decode()
    assert RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes == before

    assert client.post(url, {**data, "reason": "CHG-1234: shorter sessions"}).status_code == 302
    version = _latest("role_setting", KEY)
    assert (version.reason, version.source) == ("CHG-1234: shorter sessions", "change")
    event = AuditEvent.objects.filter(action="role_setting.update").order_by("-pk").first()
    assert event.message == "CHG-1234: shorter sessions"


def test_the_stages_page_asks_why(directory, role_admin):
    role = directory.role("exchange-administrator")
    lead = directory.user("lead")
    url = reverse("assignments:role_setting_stages", args=[role.pk])
    data = {"scope": "/", "stage-TOTAL_FORMS": "1", "stage-INITIAL_FORMS": "0", "stage-MIN_NUM_FORMS": "0",
            "stage-MAX_NUM_FORMS": "5", "stage-0-name": "Lead", "stage-0-approvers": lead.username,
            "stage-0-approvals_required": "1", "stage-0-timeout_minutes": "60",
            "stage-0-fallback_approvals_required": "1"}
    client = _client(role_admin)
    refused = client.post(url, data)
    assert refused.status_code == 400 and "Say why you make this change" in refused.content.decode()
    assert _latest("approval_stages", KEY) is None
    assert client.post(url, {**data, "reason": "a lead looks first"}).status_code == 302
    assert _latest("approval_stages", KEY).reason == "a lead looks first"
    assert AuditEvent.objects.get(action="role_setting.stages").message == "a lead looks first"


def test_the_api_answers_400_without_a_reason_and_records_it_with_one(directory, global_admin):
    api = _client(global_admin, api=True)
    body = {"role": "exchange-administrator", "max_activation_minutes": 180}
    versions = ConfigVersion.objects.count()
    refused = api.post("/api/v1/role-settings/", body, format="json")
    assert refused.status_code == 400 and "reason" in refused.content.decode()
    assert ConfigVersion.objects.count() == versions

    assert api.post("/api/v1/role-settings/", {**body, "reason": "from the API"}, format="json").status_code == 200
    assert _latest("role_setting", KEY).reason == "from the API"

    refused = api.patch("/api/v1/alerts/too_many_global_admins/", {"enabled": False}, format="json")
    assert refused.status_code == 400
    assert not AlertSetting.objects.filter(key="too_many_global_admins", enabled=False).exists()
    changed = api.patch("/api/v1/alerts/too_many_global_admins/", {"enabled": False, "reason": "noisy in test"},
                        format="json")
    assert changed.status_code == 200
    assert _latest("alert_setting", "too_many_global_admins").reason == "noisy in test"


def test_a_mapping_is_removed_only_with_a_reason(directory, global_admin):
    now = timezone.now()
    target = connectors.target_create(
        actor=global_admin, name="Corporate LDAP", kind="ldap", secret="pw", mfa_verified_at=now,
        config={"server_url": "ldap://ldap.example.com", "bind_dn": "cn=pim,dc=example,dc=com",
                "user_dn_template": "uid={username},ou=people,dc=example,dc=com"})
    team = directory.group("Payments team")
    mapping = connectors.mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                                        scope=team.group_scope, grant="cn=Payments", check=False,
                                        mfa_verified_at=now, reason="payments in LDAP")
    key = f"Corporate LDAP|group-member@{team.group_scope.path}|cn=Payments"
    assert _latest("connector_mapping", key).reason == "payments in LDAP"
    url = f"/api/v1/connectors/targets/{target.pk}/mappings/{mapping.pk}/delete/"
    api = _client(global_admin, api=True)
    assert api.post(url, {}, format="json").status_code == 400
    assert Mapping.objects.filter(pk=mapping.pk).exists()

    page = _client(global_admin)
    refused = page.post(reverse("connectors:mapping_delete", args=[target.pk, mapping.pk]), {"reason": ""},
                        follow=True)
    assert "Say why you remove this mapping" in refused.content.decode()
    assert Mapping.objects.filter(pk=mapping.pk).exists()
    page.post(reverse("connectors:mapping_delete", args=[target.pk, mapping.pk]), {"reason": "team disbanded"})
    assert not Mapping.objects.filter(pk=mapping.pk).exists()
    latest = _latest("connector_mapping", key)
    assert (latest.data, latest.reason) == (None, "team disbanded")
    event = AuditEvent.objects.filter(action="connector_mapping.delete").order_by("-pk").first()
    assert event.message == "team disbanded"


def test_a_caller_with_no_one_to_ask_records_the_enclosing_reason(directory, role_admin):
    """Bootstrap, demo data and the policy app's own applies pass no reason: no refusal."""
    with config_change_reason("seeded"):
        services.role_setting_update(actor=Actor.person(role_admin, mfa_verified_at=timezone.now()),
                                     role=directory.role("exchange-administrator"), scope=directory.root,
                                     values={"max_activation_minutes": 70})
    assert _latest("role_setting", KEY).reason == "seeded"
