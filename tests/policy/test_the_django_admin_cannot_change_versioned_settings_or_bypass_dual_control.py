"""The Django admin cannot bypass dual control: for role settings, connector mappings, alert settings and
the policy app's own rows, a Global Administrator with a fresh MFA verification can neither add, change
nor delete (superuser flag or not); a POST to the change form changes nothing and records no version."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from alerts.models import AlertSetting
from assignments.models import RoleSetting
from connectors.models import Mapping, Target
from policy.models import ConfigVersion, DualControl, Proposal
from tests.conftest import mark_mfa_verified

VERSIONED = [RoleSetting, Mapping, Target, AlertSetting, ConfigVersion, DualControl, Proposal]


@pytest.mark.parametrize("model", VERSIONED, ids=lambda m: m._meta.label)
def test_no_admin_write_permission_even_for_a_superuser(directory, global_admin, model):
    global_admin.is_superuser = global_admin.is_staff = True
    request = RequestFactory().get("/admin/")
    request.user = global_admin
    model_admin = admin.site._registry[model]
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert model_admin.get_actions(request) == {}


def test_posting_the_admin_change_form_of_a_role_setting_changes_nothing(directory, global_admin, client):
    setting = RoleSetting.objects.get(role__slug="exchange-administrator", scope=directory.root)
    versions = ConfigVersion.objects.count()
    client.force_login(global_admin)
    mark_mfa_verified(client)
    url = f"/admin/assignments/rolesetting/{setting.pk}/change/"
    assert client.get(url).status_code == 200  # viewing is allowed
    response = client.post(url, {"max_activation_minutes": 1440, "require_mfa_on_activation": ""})
    assert response.status_code == 403
    setting.refresh_from_db()
    assert setting.max_activation_minutes != 1440 and setting.require_mfa_on_activation
    assert ConfigVersion.objects.count() == versions
