"""Thresholds and on/off live in AlertSetting, editable by directory administrators, validated, audited."""

import pytest
from django.utils import timezone

from alerts.models import AlertSetting
from alerts.services import alert_setting_update
from audit.models import AuditEvent
from core.errors import DomainError
from tests.conftest import mark_mfa_verified


def test_admin_changes_thresholds_through_the_page(directory, role_admin, client):
    client.force_login(role_admin)
    mark_mfa_verified(client)
    page = client.get("/alerts/security/a/roles_activated_too_frequently/").content.decode()
    assert 'value="3"' in page and 'value="24"' in page  # the defaults
    response = client.post("/alerts/security/a/roles_activated_too_frequently/",
                           {"enabled": "on", "min_activations": "5", "window_hours": "12",
                            "reason": "fewer false alarms"})
    assert response.status_code == 302
    setting = AlertSetting.objects.get(key="roles_activated_too_frequently")
    assert setting.thresholds == {"min_activations": 5, "window_hours": 12} and setting.enabled
    event = AuditEvent.objects.get(action="alert.setting_update")
    assert event.before["thresholds"]["min_activations"] == 3 and event.after["thresholds"]["min_activations"] == 5
    assert event.message == "fewer false alarms"


def test_validation_and_permission(directory, role_admin):
    with pytest.raises(DomainError, match="between"):
        alert_setting_update(actor=role_admin, key="too_many_owners", enabled=True, thresholds={"max_owners": 0},
                             mfa_verified_at=timezone.now())
    with pytest.raises(DomainError, match="Unknown"):
        alert_setting_update(actor=role_admin, key="too_many_owners", enabled=True, thresholds={"x": 1},
                             mfa_verified_at=timezone.now())
    security_admin = directory.user("secadmin")
    directory.grant(security_admin, "security-administrator")
    with pytest.raises(DomainError) as refused:
        alert_setting_update(actor=security_admin, key="too_many_owners", enabled=False, thresholds={},
                             mfa_verified_at=timezone.now())
    assert refused.value.code == "forbidden"
    assert not AlertSetting.objects.exists()
