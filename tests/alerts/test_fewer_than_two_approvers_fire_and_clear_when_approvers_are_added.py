
"""Roles requiring approval with fewer than two named approvers fire; adding approvers clears them."""

from django.utils import timezone

from alerts.models import Incident
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

KEY = "fewer_than_two_approvers"


def test_one_approver_fires_and_adding_one_clears(directory, role_admin, evaluate, open_item, open_items):
    from alerts.services import incident_fix_add_approvers
    from assignments.models import RoleSetting
    from assignments.services import role_setting_update

    role = directory.role("helpdesk-administrator")
    first, second = directory.user("ap1"), directory.user("ap2")
    role_setting_update(actor=SETUP, role=role, scope=directory.root, values={"require_approval": True},
                        approver_ids=[first.principal.pk])
    evaluate(KEY)
    incident, item = open_item(KEY, role_id=role.pk)
    assert item["data"]["approvers"] == 1 and incident.severity == "medium"

    incident_fix_add_approvers(actor=role_admin, incident=incident, approver_ids=[second.principal.pk],
                               setting_id=item["data"]["setting_id"], mfa_verified_at=timezone.now())
    setting = RoleSetting.objects.get(role=role, scope=directory.root)
    assert set(setting.approvers.values_list("pk", flat=True)) == {first.principal.pk, second.principal.pk}
    # The fixed setting is no longer listed (the incident clears when nothing is left).
    assert [i for i in open_items(KEY) if i["role_id"] == role.pk] == []
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLEARED or all(i["role_id"] != role.pk for i in incident.items)


def test_roles_without_approval_do_not_fire(directory, evaluate):
    from assignments.models import RoleSetting

    RoleSetting.objects.update(require_approval=False)
    assert evaluate(KEY).findings == 0
