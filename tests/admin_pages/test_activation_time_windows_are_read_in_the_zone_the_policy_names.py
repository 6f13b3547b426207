"""Allowed activation times are read in the zone saved with them: the editor's own unless they pick one,
named on the form, the policy summary and the activation page; the check and its refusal use that zone."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from approvals import services as approval_services
from assignments import services
from assignments.models import RoleSetting, User
from core.actors import Actor
from core.errors import DomainError
from tests.admin_pages.test_role_settings_editor_saves_every_field import _full_post


def test_a_paris_editor_saves_windows_in_paris_time(directory, role_admin, pra_client):
    User.objects.filter(pk=role_admin.pk).update(time_zone="Europe/Paris")
    role = directory.role("exchange-administrator")
    url = reverse("assignments:role_setting", args=[role.pk])
    form = pra_client.get(url).content.decode()
    assert "Time zone of the time windows" in form
    assert '<option value="Europe/Paris" selected>' in form  # no windows yet: the editor's zone is offered
    data = _full_post(directory, [])
    data.update({"require_approval": "", "approvals_required": "1", "allowed_time_windows": "Mon-Fri 08:00-18:00"})
    response = pra_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    setting = RoleSetting.objects.get(role=role, scope=directory.root)
    assert (setting.allowed_time_windows, setting.allowed_time_windows_zone) == ("Mon-Fri 08:00-18:00",
                                                                                 "Europe/Paris")
    assert "Mon-Fri 08:00-18:00 (Europe/Paris)" in pra_client.get(url).content.decode()
    refused = pra_client.post(url, {**data, "allowed_time_windows_zone": "Mars/Olympus"})
    assert refused.status_code == 400


def test_the_check_reads_the_windows_in_their_zone(client, directory, requester):
    services.role_setting_update(
        actor=Actor.system("test-setup"), role=directory.role("helpdesk-administrator"), scope=directory.root,
        values={"require_mfa_on_activation": False, "require_justification_on_activation": False,
                "require_ticket_on_activation": False, "require_approval": False,
                "allowed_time_windows": "Mon-Fri 08:00-18:00", "allowed_time_windows_zone": "Europe/Paris"})
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    client.force_login(requester)
    page = client.get(reverse("approvals:activate", args=[eligibility.pk])).content.decode()
    assert "Allowed times (Europe/Paris)" in page

    def activate():
        return approval_services.request_self_activate(actor=requester, eligible_assignment=eligibility,
                                                       duration_minutes=60, justification="x")

    with time_machine.travel(datetime(2030, 1, 7, 17, 30, tzinfo=UTC)):  # Monday 18:30 in Paris
        with pytest.raises(DomainError) as error:
            activate()
        assert error.value.message.endswith("Mon-Fri 08:00-18:00 (Europe/Paris).")
    with time_machine.travel(datetime(2030, 1, 7, 7, 30, tzinfo=UTC)):  # Monday 08:30 in Paris
        assert activate().assignment is not None
