"""Same user, same role, ≥ 3 activations within 24 hours (defaults) fires; it clears once the window passes."""

from datetime import timedelta

import time_machine
from django.utils import timezone

KEY = "roles_activated_too_frequently"


def test_three_activations_in_a_day_fire_and_clear_after_the_window(directory, evaluate, open_incidents, activate):
    user = directory.user("eve")
    eligible = directory.grant(user, "helpdesk-administrator", kind="eligible")
    start = timezone.now()
    for hour in (0, 2):
        with time_machine.travel(start + timedelta(hours=hour)):
            activate(eligible)
    with time_machine.travel(start + timedelta(hours=3)):
        assert evaluate(KEY).findings == 0  # two is fine
    with time_machine.travel(start + timedelta(hours=4)):
        activate(eligible)
        assert evaluate(KEY).opened == 1
    [incident] = open_incidents(KEY)
    assert incident.principal == user.principal and incident.data["activations"] == 3
    with time_machine.travel(start + timedelta(hours=26)):
        assert evaluate(KEY).cleared == 1
    assert open_incidents(KEY) == []
