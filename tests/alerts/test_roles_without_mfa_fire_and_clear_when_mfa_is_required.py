
"""Privileged roles whose policy does not require MFA on activation fire; requiring it clears them."""

from django.utils import timezone

from alerts.models import Incident
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

KEY = "roles_without_mfa"


def test_privileged_role_without_mfa_fires_and_the_fix_requires_mfa(directory, role_admin, evaluate, open_incidents,
                                                                     open_item, open_items):
    from alerts.services import incident_fix_require_mfa
    from assignments.models import RoleSetting
    from assignments.services import role_setting_update
    from audit.models import AuditEvent

    role = directory.role("user-administrator")
    evaluate(KEY)
    assert [i for i in open_items(KEY) if i["role_id"] == role.pk] == []
    role_setting_update(actor=SETUP, role=role, scope=directory.root, values={"require_mfa_on_activation": False})
    result = evaluate(KEY)
    assert (result.findings, result.opened) == (2, 0)  # a new item of the alert's one incident (the seed's is open)
    [incident] = open_incidents(KEY)
    incident, item = open_item(KEY, role_id=role.pk)
    assert incident.severity == "low" and len(incident.items) == 2

    incident_fix_require_mfa(actor=role_admin, incident=incident, setting_id=item["data"]["setting_id"],
                             mfa_verified_at=timezone.now())
    assert RoleSetting.objects.get(role=role, scope=directory.root).require_mfa_on_activation is True
    assert AuditEvent.objects.filter(action="role_setting.update", actor_id=role_admin.pk).exists()
    assert AuditEvent.objects.filter(action="alert.incident_fix", actor_id=role_admin.pk).exists()
    # Re-evaluated after the fix committed: the item is gone, the seed's remains.
    assert [i["role_id"] for i in open_items(KEY)] == [directory.role("helpdesk-administrator").pk]


def test_a_fix_of_an_incident_listing_several_settings_names_the_setting(directory, role_admin, evaluate,
                                                                         open_incidents):
    import pytest

    from alerts.services import incident_fix_require_mfa
    from assignments.services import role_setting_update
    from core.errors import DomainError

    role = directory.role("user-administrator")
    role_setting_update(actor=SETUP, role=role, scope=directory.root, values={"require_mfa_on_activation": False})
    evaluate(KEY)
    [incident] = open_incidents(KEY)
    with pytest.raises(DomainError, match="Choose the role setting"):
        incident_fix_require_mfa(actor=role_admin, incident=incident, mfa_verified_at=timezone.now())
    with pytest.raises(DomainError, match="not part of this incident"):
        incident_fix_require_mfa(actor=role_admin, incident=incident, setting_id=10**9, mfa_verified_at=timezone.now())
    assert incident.items and Incident.objects.get(pk=incident.pk).status == Incident.Status.OPEN


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
