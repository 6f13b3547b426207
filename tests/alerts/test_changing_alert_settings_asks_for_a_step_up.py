"""Turning an alert off or changing its thresholds hides what it would show: the page asks for a fresh
MFA verification first, then saves what was typed."""

from urllib.parse import urlparse

from django.test import Client

from alerts.models import AlertSetting
from tests.conftest import mark_mfa_verified

URL = "/alerts/security/a/roles_activated_too_frequently/"


def test_alert_setting_change_goes_through_step_up(directory, role_admin):
    client = Client()
    client.force_login(role_admin)
    assert "you will be asked to verify" in client.get(URL).content.decode()

    # "enabled" unticked: off
    refused = client.post(URL, {"min_activations": "5", "window_hours": "1", "reason": "test"})
    assert refused.status_code == 302 and urlparse(refused["Location"]).path == "/account/verify/"
    assert not AlertSetting.objects.filter(key="roles_activated_too_frequently", enabled=False).exists()

    mark_mfa_verified(client)
    back = client.get(URL)
    assert back.context["form"]["min_activations"].value() == "5"
    assert client.post(URL, {"min_activations": "5", "window_hours": "1", "reason": "test"}).status_code == 302
    setting = AlertSetting.objects.get(key="roles_activated_too_frequently")
    assert not setting.enabled and setting.thresholds["min_activations"] == 5
