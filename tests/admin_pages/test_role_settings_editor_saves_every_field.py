from django.urls import reverse

from assignments import services
from assignments.forms import RoleSettingForm
from assignments.models import NOTIFICATION_EVENTS, NOTIFICATION_RECIPIENTS, RoleSetting


def _full_post(directory, approvers):
    data = {
        "scope": "/",
        "reason": "the editor test",
        "max_activation_minutes": "90",
        "require_mfa_on_activation": "on",
        "require_justification_on_activation": "",
        "require_ticket_on_activation": "on",
        "require_approval": "on",
        "approvers": [p.pk for p in approvers],
        "approvals_required": "2",
        "approval_window_minutes": "180",
        "trusted_networks": "10.0.0.0/8\n192.168.1.0/24",
        "allowed_time_windows": "Mon-Fri 08:00-18:00",
        "expire_eligible_after": "P3M",
        "allow_permanent_active": "on",
        "expire_active_after": "P15D",
        "require_mfa_on_active_assignment": "on",
    }
    for i, event in enumerate(NOTIFICATION_EVENTS):
        for j, recipient in enumerate(NOTIFICATION_RECIPIENTS):
            if (i + j) % 2:
                data[f"n__{event}__{recipient}__default"] = "on"
            data[f"n__{event}__{recipient}__extra"] = f"{event}.{recipient}@example.com, second@example.com"
            if i == j:
                data[f"n__{event}__{recipient}__critical"] = "on"
    return data


def test_the_form_covers_every_service_field():
    assert set(RoleSettingForm.SCALAR_FIELDS) | {"notifications"} == set(services.ROLE_SETTING_FIELDS)


def test_every_field_round_trips_through_the_editor(directory, pra_client):
    role = directory.role("exchange-administrator")
    approver_user = directory.user("approver")
    approver_group = directory.group("Approvers")
    url = reverse("assignments:role_setting", args=[role.pk])

    response = pra_client.post(url, _full_post(directory, [approver_user.principal, approver_group]))
    assert response.status_code == 302, response.content.decode()[:2000]

    setting = RoleSetting.objects.get(role=role, scope=directory.root)
    assert setting.max_activation_minutes == 90
    assert setting.require_mfa_on_activation is True
    assert setting.require_justification_on_activation is False
    assert setting.require_ticket_on_activation is True
    assert setting.require_approval is True
    assert setting.approvals_required == 2
    assert setting.approval_window_minutes == 180
    assert setting.trusted_networks == "10.0.0.0/8\n192.168.1.0/24"
    assert setting.allowed_time_windows == "Mon-Fri 08:00-18:00"
    assert setting.allow_permanent_eligible is False
    assert setting.expire_eligible_after == "P3M"
    assert setting.allow_permanent_active is True
    assert setting.expire_active_after == "P15D"
    assert setting.require_mfa_on_active_assignment is True
    assert setting.require_justification_on_active_assignment is False
    assert set(setting.approvers.all()) == {approver_user.principal, approver_group}
    for i, event in enumerate(NOTIFICATION_EVENTS):
        for j, recipient in enumerate(NOTIFICATION_RECIPIENTS):
            assert setting.notifications[event][recipient] == {
                "default_recipients": bool((i + j) % 2),
                "extra_addresses": [f"{event}.{recipient}@example.com", "second@example.com"],
                "critical_only": i == j,
            }

    # The page shows the saved values back (and says where they come from).
    page = pra_client.get(url + "?scope=/")
    assert "Policy of Exchange Administrator at / saved." in page.content.decode()
    assert "Defined at this scope." in page.content.decode()
    assert page.context["form"].initial["approvals_required"] == 2
    assert page.context["form"].initial["n__active_assigned__assignee__extra"] == (
        "active_assigned.assignee@example.com\nsecond@example.com")


def test_service_and_shape_refusals_land_on_their_fields(directory, pra_client):
    role = directory.role("exchange-administrator")
    url = reverse("assignments:role_setting", args=[role.pk])
    data = _full_post(directory, [])
    before = RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes

    data["max_activation_minutes"] = "30"
    response = pra_client.post(url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["max_activation_minutes"] == [
        "The maximum activation duration must be between 1 and 24 hours."]

    data["max_activation_minutes"] = "60"
    data["trusted_networks"] = "not-a-network"
    response = pra_client.post(url, data)
    assert "'not-a-network' is not a network in CIDR notation" in response.context["form"].errors[
        "trusted_networks"][0]

    data["trusted_networks"] = ""
    data["n__eligible_activated__approvers__extra"] = "nobody-at-all"
    response = pra_client.post(url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["n__eligible_activated__approvers__extra"] == [
        "nobody-at-all is not an email address."]

    assert RoleSetting.objects.get(role=role, scope=directory.root).max_activation_minutes == before
