"""Too many Global Administrators: count ≥ 3 AND share of all assignments ≥ 10% (DESIGN §3 defaults)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

KEY = "too_many_global_admins"


def test_two_emergency_admins_alone_do_not_fire(directory, evaluate, open_incidents):
    assert evaluate(KEY).findings == 0
    assert open_incidents(KEY) == []


def test_a_third_admin_fires_and_removing_one_clears(directory, global_admin, role_admin, evaluate, open_incidents):
    result = evaluate(KEY)
    assert (result.findings, result.opened) == (1, 1)
    [incident] = open_incidents(KEY)
    assert incident.severity == "low"
    assert incident.data["count"] == 3
    assert {row["principal"] for row in incident.affected} == {"Gadmin", "Emergency access 1", "Emergency access 2"}

    from assignments.models import Assignment
    from assignments.services import assignment_remove

    ga = Assignment.objects.get(principal=global_admin.principal, role__slug="global-administrator", status="live")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_remove(actor=role_admin, assignment=ga, justification="no longer needed")
        result = evaluate(KEY)
    assert result.cleared == 1
    assert open_incidents(KEY) == []
    incident.refresh_from_db()
    assert (incident.status, incident.is_current) == ("cleared", False)


def test_share_below_ten_percent_does_not_fire(directory, global_admin, evaluate, open_incidents):
    sub = directory.scope("/subscriptions/s1")
    for index in range(28):  # 3 GA out of 31 assignments = 9.7%
        directory.grant(directory.group(f"g{index}"), "reader", sub)
    assert evaluate(KEY).findings == 0
    directory.grant(directory.user("ga4"), "global-administrator")  # 4 of 32 = 12.5%
    assert evaluate(KEY).findings == 1


def test_thresholds_are_configurable(directory, global_admin, evaluate, open_incidents):
    from alerts.models import AlertSetting

    AlertSetting.objects.create(key=KEY, thresholds={"min_count": 4})
    assert evaluate(KEY).findings == 0
