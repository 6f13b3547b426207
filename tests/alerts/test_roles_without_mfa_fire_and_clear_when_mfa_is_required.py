
"""Privileged roles whose policy does not require MFA on activation fire; requiring it clears them."""

from django.utils import timezone

from alerts.models import Incident
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

KEY = "roles_without_mfa"


def test_privileged_role_without_mfa_fires_and_the_fix_requires_mfa(directory, role_admin, evaluate, open_incidents):
    from alerts.services import incident_fix_require_mfa
    from assignments.models import RoleSetting
    from assignments.services import role_setting_update
    from audit.models import AuditEvent

    role = directory.role("user-administrator")
    evaluate(KEY)
    assert [i for i in open_incidents(KEY) if i.role == role] == []
    role_setting_update(actor=SETUP, role=role, scope=directory.root, values={"require_mfa_on_activation": False})
    assert evaluate(KEY).opened == 1
    [incident] = [i for i in open_incidents(KEY) if i.role == role]
    assert incident.severity == "low"

    incident_fix_require_mfa(actor=role_admin, incident=incident, mfa_verified_at=timezone.now())
    assert RoleSetting.objects.get(role=role, scope=directory.root).require_mfa_on_activation is True
    assert AuditEvent.objects.filter(action="role_setting.update", actor_id=role_admin.pk).exists()
    assert AuditEvent.objects.filter(action="alert.incident_fix", actor_id=role_admin.pk).exists()
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLEARED  # re-evaluated after the fix committed


def test_non_privileged_roles_do_not_fire(directory, evaluate, open_incidents):
    from assignments.services import role_setting_update

    role = directory.role("exchange-administrator")
    assert role.is_privileged is False
    role_setting_update(actor=SETUP, role=role, scope=directory.root, values={"require_mfa_on_activation": False})
    evaluate(KEY)
    assert [i.role for i in open_incidents(KEY)] == [directory.role("helpdesk-administrator")]  # the seed's only one


def test_the_fix_needs_an_administrator_of_the_role(directory, evaluate, open_incidents):
    import pytest

    from alerts.services import incident_fix_require_mfa
    from core.errors import DomainError

    evaluate(KEY)
    [incident] = open_incidents(KEY)  # the seed policy of Helpdesk Administrator does not require MFA
    reader = directory.user("reader")
    directory.grant(reader, "security-reader")
    with pytest.raises(DomainError):
        incident_fix_require_mfa(actor=reader, incident=incident, mfa_verified_at=timezone.now())
    assert open_incidents(KEY) == [incident]
