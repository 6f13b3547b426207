"""The emergency access page lists the accounts with their last sign-in and checks: at least two,
each a permanent active Global Administrator (so no approval or MFA requirement applies), enabled."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from alerts.selectors import emergency_access_report
from assignments.models import Assignment, User
from tests.conftest import mark_mfa_verified


def test_the_bootstrapped_accounts_pass(directory, role_admin, client):
    accounts, checks = emergency_access_report()
    assert [a.user.username for a in accounts] == ["breakglass1", "breakglass2"]
    assert all(c.ok for c in checks)
    client.force_login(role_admin)
    mark_mfa_verified(client)
    page = client.get("/alerts/security/emergency-access/").content.decode()
    assert "breakglass1" in page and "Never" in page and "Fail" not in page


def test_one_account_time_bound_and_one_missing_fail(directory, global_admin):
    from assignments.services import assignment_update

    ga = Assignment.objects.get(principal__user__username="breakglass2", status="live")
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        assignment_update(actor=global_admin, assignment=ga, start_at=None, end_at=timezone.now() + timedelta(days=2),
                          mfa_verified_at=timezone.now())
    accounts, checks = emergency_access_report()
    by_label = {c.label: c.ok for c in checks}
    assert by_label["At least two emergency access accounts"] is True
    assert by_label["Each holds Global Administrator as a permanent active assignment"] is False
    assert any("time-bound" in p for p in accounts[1].problems)
    User.objects.filter(username="breakglass1").update(is_emergency_access=False)
    accounts, checks = emergency_access_report()
    assert {c.label: c.ok for c in checks}["At least two emergency access accounts"] is False


def test_last_sign_in_is_shown(directory, role_admin, client):
    when = timezone.now() - timedelta(days=3)
    User.objects.filter(username="breakglass1").update(last_login=when)
    client.force_login(role_admin)
    mark_mfa_verified(client)
    page = client.get("/alerts/security/emergency-access/").content.decode()
    assert when.strftime("%Y-%m-%d %H:%M") in page
