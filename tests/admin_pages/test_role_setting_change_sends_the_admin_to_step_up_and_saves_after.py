"""Saving a policy is a privileged administrative change: without a fresh MFA verification the editor
sends the administrator through the step-up, brings them back to the policy as they typed it, and saves
once they submit again. The page says up front that a verification will be asked."""

from urllib.parse import parse_qs, urlparse

from django.urls import reverse

from assignments import selectors
from assignments.forms import RoleSettingForm
from tests.conftest import mark_mfa_verified


def _posted_form_of_current_policy(role, directory) -> dict:
    effective = selectors.role_setting_effective(role=role, scope=directory.root)
    data = {"scope": "/", "reason": "step-up test"}
    for name, value in RoleSettingForm.initial_for(effective, []).items():
        if value is True:
            data[name] = "on"
        elif value not in (None, False, "") and not isinstance(value, list):
            data[name] = str(value)
    return data


def test_policy_edit_goes_through_step_up_and_keeps_the_typed_values(directory, role_admin, login):
    ga = directory.role("global-administrator")
    client = login(role_admin, verified_mfa=False)
    url = reverse("assignments:role_setting", args=[ga.pk])
    page = client.get(url, {"scope": "/"})
    assert "you will be asked to verify" in page.content.decode()

    data = _posted_form_of_current_policy(ga, directory)
    data.update({"max_activation_minutes": "75"})
    del data["require_mfa_on_activation"], data["require_approval"]  # unticked: turned off

    refused = client.post(url, data)
    assert refused.status_code == 302
    location = urlparse(refused["Location"])
    assert location.path == "/account/verify/"
    next_url = parse_qs(location.query)["next"][0]
    assert next_url == f"{url}?scope=%2F"
    unchanged = selectors.role_setting_effective(role=ga, scope=directory.root)
    assert unchanged.max_activation_minutes != 75 and unchanged.require_mfa_on_activation

    mark_mfa_verified(client)  # what the step-up page does
    back = client.get(next_url)
    assert back.context["form"]["max_activation_minutes"].value() == "75"
    assert "counts until" in back.content.decode()

    saved = client.post(url, data)
    assert saved.status_code == 302
    setting = selectors.role_setting_effective(role=ga, scope=directory.root)
    assert setting.max_activation_minutes == 75 and not setting.require_mfa_on_activation
