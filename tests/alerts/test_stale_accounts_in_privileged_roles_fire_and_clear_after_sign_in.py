"""Accounts with no sign-in for 90 days (default) holding privileged roles fire; a sign-in clears them."""

from datetime import timedelta

import time_machine
from django.utils import timezone

KEY = "stale_accounts_in_privileged_roles"


def test_stale_privileged_account_fires_and_a_sign_in_clears(directory, evaluate, open_incidents, client):
    user = directory.user("eve")
    directory.grant(user, "helpdesk-administrator", kind="eligible")
    directory.user("idle")  # no privileged role: never an incident
    assert evaluate(KEY).findings == 0
    later = timezone.now() + timedelta(days=91)
    with time_machine.travel(later):
        result = evaluate(KEY)
        assert result.opened == 1
        [incident] = open_incidents(KEY)
        assert incident.principal == user.principal and incident.severity == "medium"
        assert "never signed in" in incident.title
        client.login(username="eve", password="pw-for-tests-123")
        assert evaluate(KEY).cleared == 1
    assert open_incidents(KEY) == []


def test_emergency_access_accounts_are_left_to_their_own_checks(directory, evaluate):
    with time_machine.travel(timezone.now() + timedelta(days=200)):
        assert evaluate(KEY).findings == 0
