from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.access import access_find_grant


def test_role_is_held_from_start_until_end_without_any_job(directory):
    user = directory.user()
    start = timezone.now() + timedelta(hours=1)
    end = start + timedelta(hours=2)
    directory.grant(user, "exchange-administrator", start=start, end=end)
    principal = user.principal
    tick = timedelta(microseconds=1)

    def held(at=None):
        return access_find_grant(principal=principal, role="exchange-administrator", scope="/", at=at) is not None

    assert not held(start - tick)
    assert held(start)
    assert held(end - tick)
    assert not held(end)
    with time_machine.travel(end + timedelta(milliseconds=1)):
        # No sweep has run; the assignment row is still "live", yet the role is not held.
        assert not held()
