"""Four mistakes in one submission of a role setting: one answer naming all four, a summary at the top
linking to each field, nothing saved (before: one error per submit, four submits)."""

import re

from django.urls import reverse

from assignments.models import RoleSetting

from .test_role_settings_editor_saves_every_field import _full_post


def _summary(html: str) -> str:
    match = re.search(r'<div class="error-summary" role="alert".*?</div>', html, re.S)
    assert match, "no error summary"
    return match.group(0)


def test_four_mistakes_come_back_together_with_a_linked_summary(directory, pra_client):
    role = directory.role("exchange-administrator")
    url = reverse("assignments:role_setting", args=[role.pk])
    before = RoleSetting.objects.filter(role=role).count()
    data = _full_post(directory, [])
    data.pop("max_activation_minutes")
    data.update({
        "max_activation_minutes_hours": "30", "max_activation_minutes_minutes": "0",  # over 24 h
        "approvals_required": "0",
        "trusted_networks": "10.0.0.0/8\nnot-a-network",
        "allowed_time_windows": "Someday 25:00",
    })

    response = pra_client.post(url, data)

    assert response.status_code == 400
    html = response.content.decode()
    summary = _summary(html)
    assert "There are 4 problems" in summary
    for field_id in ("id_max_activation_minutes_hours", "id_approvals_required", "id_trusted_networks",
                     "id_allowed_time_windows"):
        assert f'href="#{field_id}"' in summary, field_id
        assert f'id="{field_id}"' in html  # the link lands on the field
    assert "between 1 and 24 hours" in summary and "not-a-network" in summary and "Someday" in summary
    assert RoleSetting.objects.filter(role=role).count() == before


def test_a_mistake_the_form_catches_and_one_the_policy_catches_come_back_together(directory, pra_client):
    role = directory.role("exchange-administrator")
    url = reverse("assignments:role_setting", args=[role.pk])
    data = _full_post(directory, [])
    data.update({"approvals_required": "many", "trusted_networks": "nowhere"})

    response = pra_client.post(url, data)

    assert response.status_code == 400
    summary = _summary(response.content.decode())
    assert "There are 2 problems" in summary
    assert 'href="#id_approvals_required"' in summary and 'href="#id_trusted_networks"' in summary


def test_the_service_raises_one_error_carrying_every_field(directory):
    import pytest

    from assignments import services
    from core.errors import DomainError

    with pytest.raises(DomainError) as raised:
        services.role_setting_validate(values={"max_activation_minutes": 10, "approvals_required": 99,
                                               "approval_window_minutes": 5, "trusted_networks": "x"})
    assert set(raised.value.errors) == {"max_activation_minutes", "approvals_required", "approval_window_minutes",
                                        "trusted_networks"}
