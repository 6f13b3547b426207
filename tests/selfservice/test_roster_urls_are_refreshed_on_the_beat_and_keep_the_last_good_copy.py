"""The beat refreshes on-call rosters every PIM_ROSTER_REFRESH_MINUTES: a roster URL (a real local
server, under the outbound URL policy) is fetched again and expanded from now, so a recurring rota rolls
forward; a failed fetch keeps the last good copy (expanded again) and the rule's page says why."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from audit.models import AuditEvent
from selfservice import services
from selfservice.models import AutoApprovalRule, OnCallShift

ROTA = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//rota//EN
BEGIN:VEVENT
UID:rota@test
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260316T170000
RRULE:FREQ=WEEKLY;BYDAY=MO
SUMMARY:On call requester
END:VEVENT
END:VCALENDAR
"""
T0 = datetime(2026, 3, 15, tzinfo=UTC)


@pytest.fixture
def url_rule(directory, requester, policy, approver, auto_rule, local_server, settings):
    settings.PIM_ROSTER_HORIZON_DAYS = 14
    settings.PIM_ROSTER_REFRESH_MINUTES = 60
    local_server.routes["/rota.ics"] = (200, ROTA.encode())
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    return auto_rule(setting, name="Rota", on_call=True, roster_url=local_server.url + "/rota.ics")


def _mondays(rule):
    return [s.start_at.date().isoformat() for s in OnCallShift.objects.filter(rule=rule).order_by("start_at")]


def test_the_beat_fetches_when_due_once_and_rolls_the_rota_forward(url_rule, local_server):
    with time_machine.travel(T0, tick=False):
        assert services.auto_approval_rosters_refresh_due() == 1
        assert services.auto_approval_rosters_refresh_due() == 0  # checked just now: not due
    assert _mondays(url_rule) == ["2026-03-16", "2026-03-23"]
    assert local_server.seen.count("/rota.ics") == 1
    with time_machine.travel(T0 + timedelta(minutes=59), tick=False):
        assert services.auto_approval_rosters_refresh_due() == 0
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        assert services.auto_approval_rosters_refresh_due() == 1
    assert _mondays(url_rule) == ["2026-03-30", "2026-04-06"]  # expanded from the refresh, two weeks ahead
    rule = AutoApprovalRule.objects.get(pk=url_rule.pk)
    assert rule.roster_fetch_error == "" and rule.roster_checked_at == T0 + timedelta(days=10)
    assert AuditEvent.objects.filter(action="auto_approval_rule.roster_refresh").count() == 2


def test_a_failed_fetch_keeps_the_last_good_copy_and_the_page_says_so(url_rule, local_server, client, role_admin):
    with time_machine.travel(T0, tick=False):
        services.auto_approval_rosters_refresh_due()
    local_server.routes["/rota.ics"] = (503, b"down")
    with time_machine.travel(T0 + timedelta(days=10), tick=False):
        assert services.auto_approval_rosters_refresh_due() == 1
    rule = AutoApprovalRule.objects.get(pk=url_rule.pk)
    assert "HTTP 503" in rule.roster_fetch_error
    assert _mondays(url_rule) == ["2026-03-30", "2026-04-06"]  # the stored copy, expanded from now
    assert rule.roster_content == ROTA
    assert AuditEvent.objects.filter(action="auto_approval_rule.roster_refresh",
                                     outcome=AuditEvent.Outcome.FAILURE).count() == 1
    local_server.routes["/rota.ics"] = (200, b"not a calendar")
    with time_machine.travel(T0 + timedelta(days=10, hours=2), tick=False):
        assert services.auto_approval_rosters_refresh_due() == 1
    rule.refresh_from_db()
    assert "iCalendar" in rule.roster_fetch_error and rule.roster_content == ROTA
    client.force_login(role_admin)
    page = client.get(reverse("selfservice:auto_rule", args=[rule.pk]))
    assert page.status_code == 200
    assert "Failed" in page.content.decode() and "The last good copy is kept" in page.content.decode()
    local_server.routes["/rota.ics"] = (200, ROTA.encode())
    with time_machine.travel(T0 + timedelta(days=10, hours=4), tick=False):
        assert services.auto_approval_rosters_refresh_due() == 1
    rule.refresh_from_db()
    assert rule.roster_fetch_error == ""


def test_an_uploaded_roster_is_expanded_again_on_the_beat(directory, requester, policy, approver, auto_rule,
                                                          settings):
    settings.PIM_ROSTER_HORIZON_DAYS = 14
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    rule = auto_rule(setting, name="Uploaded", on_call=True)
    with time_machine.travel(T0, tick=False):
        services.auto_approval_roster_import(actor=services._ROSTER_REFRESH, rule=rule, content=ROTA.encode())
    assert _mondays(rule) == ["2026-03-16", "2026-03-23"]
    with time_machine.travel(T0 + timedelta(days=21), tick=False):
        assert services.auto_approval_rosters_refresh_due() == 1
    assert _mondays(rule) == ["2026-04-06", "2026-04-13"]
