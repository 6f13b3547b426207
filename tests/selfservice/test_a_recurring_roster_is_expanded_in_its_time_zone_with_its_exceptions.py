"""A weekly on-call rota is one VEVENT with an RRULE: every occurrence up to the horizon is a shift, read
in the event's own zone across a DST change (09:00 Berlin is 08:00 UTC in winter, 07:00 UTC in summer),
less its EXDATEs, plus its RDATEs, with a RECURRENCE-ID override moving one occurrence to someone else."""

from datetime import UTC, datetime

import pytest
import time_machine

from approvals.models import Request
from core.actors import Actor
from selfservice import services
from selfservice.models import OnCallShift
from selfservice.rosters import roster_parse

SETUP = Actor.system("test-setup")

ROTA = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//rota//EN
BEGIN:VEVENT
UID:rota@test
DTSTART;TZID=Europe/Berlin:20260316T090000
DTEND;TZID=Europe/Berlin:20260316T170000
RRULE:FREQ=WEEKLY;BYDAY=MO
EXDATE;TZID=Europe/Berlin:20260406T090000
RDATE;TZID=Europe/Berlin:20260408T090000
SUMMARY:On call requester
END:VEVENT
BEGIN:VEVENT
UID:rota@test
RECURRENCE-ID;TZID=Europe/Berlin:20260413T090000
DTSTART;TZID=Europe/Berlin:20260413T090000
DTEND;TZID=Europe/Berlin:20260413T170000
SUMMARY:On call someoneelse
END:VEVENT
BEGIN:VEVENT
UID:daily@test
DTSTART:20260316T220000
DTEND:20260316T230000
RRULE:FREQ=DAILY;COUNT=2
SUMMARY:Floating night requester
END:VEVENT
END:VCALENDAR
"""


def test_occurrences_follow_the_zone_across_dst_and_the_exceptions():
    shifts = roster_parse(ROTA, zone_name="America/New_York", since=datetime(2026, 3, 1, tzinfo=UTC),
                          until=datetime(2026, 4, 21, tzinfo=UTC)).shifts
    rota = [(s.start_at, s.names[-1]) for s in shifts if "night" not in s.names]
    assert rota == [
        (datetime(2026, 3, 16, 8, tzinfo=UTC), "requester"),  # CET: UTC+1
        (datetime(2026, 3, 23, 8, tzinfo=UTC), "requester"),
        (datetime(2026, 3, 30, 7, tzinfo=UTC), "requester"),  # CEST from 29 March: UTC+2, still 09:00 Berlin
        # 6 April is an EXDATE
        (datetime(2026, 4, 8, 7, tzinfo=UTC), "requester"),  # the RDATE
        (datetime(2026, 4, 13, 7, tzinfo=UTC), "someoneelse"),  # the override
        (datetime(2026, 4, 20, 7, tzinfo=UTC), "requester"),
    ]
    nights = [s.start_at for s in shifts if "night" in s.names]
    # Floating times are read in the roster's zone (New York is on EDT from 8 March: UTC-4).
    assert nights == [datetime(2026, 3, 17, 2, tzinfo=UTC), datetime(2026, 3, 18, 2, tzinfo=UTC)]


def test_an_unbounded_rule_is_expanded_only_to_the_horizon():
    shifts = roster_parse(ROTA, zone_name="UTC", since=datetime(2026, 5, 1, tzinfo=UTC),
                          until=datetime(2026, 6, 1, tzinfo=UTC)).shifts
    assert [s.start_at.day for s in shifts] == [4, 11, 18, 25]  # the Mondays of May, nothing before or after


@pytest.fixture
def rota_rule(directory, requester, policy, approver, auto_rule):
    setting = policy("helpdesk-administrator", approvers=[approver], require_approval=True)
    return auto_rule(setting, name="Weekly rota", on_call=True)


def test_the_fifth_monday_of_the_rota_is_approved_automatically(directory, requester, rota_rule, eligible,
                                                                activate, settings):
    settings.PIM_ROSTER_HORIZON_DAYS = 92
    with time_machine.travel(datetime(2026, 3, 15, tzinfo=UTC), tick=False):
        services.auto_approval_roster_import(actor=SETUP, rule=rota_rule, content=ROTA.encode())
        eligibility = eligible(requester)
    assert OnCallShift.objects.filter(rule=rota_rule, user=requester, start_at__gte=datetime(2026, 4, 20, tzinfo=UTC)
                                      ).count() == 8  # 20 April to 8 June: the Mondays up to the 92-day horizon
    with time_machine.travel(datetime(2026, 4, 20, 14, 59, tzinfo=UTC), tick=False):  # 16:59 Berlin, on call
        assert activate(requester, eligibility).status == Request.Status.PROVISIONED
    with time_machine.travel(datetime(2026, 4, 27, 15, 1, tzinfo=UTC), tick=False):  # 17:01 Berlin: off
        assert activate(requester, eligibility).status == Request.Status.PENDING_APPROVAL
