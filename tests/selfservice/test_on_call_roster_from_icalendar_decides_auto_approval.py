"""An auto-approval rule may require the requester to be on call: its roster is imported from an
iCalendar file or from an http(s) URL (a real local server), each VEVENT naming people by ATTENDEE or
SUMMARY, with DTSTART/DTEND read in their own time zones."""

from datetime import UTC, datetime

import pytest
import time_machine

from approvals.models import Request
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError
from selfservice import services
from selfservice.models import OnCallShift
from selfservice.rosters import roster_parse

SETUP = Actor.system("test-setup")

ROSTER = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//roster//EN
BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE
BEGIN:VEVENT
UID:1@test
DTSTART;TZID=Europe/Berlin:20260302T090000
DTEND;TZID=Europe/Berlin:20260302T170000
SUMMARY:Primary on call
ATTENDEE;CN=Requester:mailto:requester@example.com
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART:20260303T000000Z
DTEND:20260304T000000Z
SUMMARY:On call: someoneelse
END:VEVENT
BEGIN:VEVENT
UID:3@test
DTSTART;VALUE=DATE:20260305
SUMMARY:On call requester
END:VEVENT
END:VCALENDAR
"""


def test_parsing_reads_time_zones_all_day_dates_and_names():
    shifts = roster_parse(ROSTER, zone_name="America/New_York").shifts
    assert [(s.start_at, s.end_at) for s in shifts] == [
        (datetime(2026, 3, 2, 8, tzinfo=UTC), datetime(2026, 3, 2, 16, tzinfo=UTC)),  # Berlin is UTC+1 in March
        (datetime(2026, 3, 3, tzinfo=UTC), datetime(2026, 3, 4, tzinfo=UTC)),
        (datetime(2026, 3, 5, 5, tzinfo=UTC), datetime(2026, 3, 6, 5, tzinfo=UTC)),  # a date, in the roster's zone
    ]
    assert "requester@example.com" in shifts[0].names and "someoneelse" in shifts[1].names


def test_not_icalendar_is_a_form_error():
    with pytest.raises(DomainError) as error:
        roster_parse("hello", zone_name="UTC")
    assert error.value.field == "roster"


@pytest.fixture
def on_call_rule(directory, requester, policy, approver, auto_rule):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    return auto_rule(setting, name="On call", on_call=True)


def test_the_person_on_call_is_approved_and_nobody_else(directory, requester, on_call_rule, eligible, activate):
    summary = services.auto_approval_roster_import(actor=SETUP, rule=on_call_rule, content=ROSTER.encode())
    assert summary["shifts"] == 2 and summary["events_naming_nobody_known"] == 1
    assert AuditEvent.objects.filter(action="auto_approval_rule.roster_import", after__shifts=2).exists()
    with time_machine.travel(datetime(2026, 3, 1, tzinfo=UTC), tick=False):
        eligibility = eligible(requester)
        other = directory.user("other")
        other_eligibility = eligible(other)
    with time_machine.travel(datetime(2026, 3, 2, 15, 59, tzinfo=UTC), tick=False):
        assert activate(requester, eligibility).status == Request.Status.PROVISIONED
    with time_machine.travel(datetime(2026, 3, 2, 16, 1, tzinfo=UTC), tick=False):
        assert activate(other, other_eligibility).status == Request.Status.PENDING_APPROVAL
    with time_machine.travel(datetime(2026, 3, 3, 12, tzinfo=UTC), tick=False):
        assert activate(requester, eligibility).status == Request.Status.PENDING_APPROVAL


def test_the_roster_is_fetched_from_a_url_under_the_outbound_policy(directory, requester, policy, approver, auto_rule,
                                                                   local_server, settings):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    local_server.routes["/oncall.ics"] = (200, ROSTER.encode())
    rule = auto_rule(setting, on_call=True, roster_url=local_server.url + "/oncall.ics")
    assert services.auto_approval_roster_import(actor=SETUP, rule=rule)["shifts"] == 2
    assert OnCallShift.objects.filter(rule=rule, user=requester).count() == 2
    settings.PIM_PROVISIONING_ALLOWED_NETWORKS = []
    with pytest.raises(DomainError) as refused:
        services.auto_approval_roster_import(actor=SETUP, rule=rule)
    assert refused.value.field == "roster_url"
    assert OnCallShift.objects.filter(rule=rule).count() == 2  # a failed import keeps the roster it had
