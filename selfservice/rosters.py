"""On-call rosters in iCalendar (RFC 5545): which user is on call when.

Each VEVENT names the people on call in its ATTENDEE properties (`mailto:` address, or CN) or its
SUMMARY ("On call: alice"); an ATTENDEE address is matched to a user's email, a CN or a word of the
SUMMARY to a username (case-insensitive). DTSTART/DTEND are read with their TZID (or as UTC with `Z`);
floating times and all-day dates are read in the roster's zone. A VEVENT without DTEND lasts its
DURATION, or one day for an all-day date. A recurring event (RRULE, RDATE, less its EXDATEs, with
its RECURRENCE-ID overrides) is expanded by `recurring_ical_events` in its own zone (a weekly 09:00
Europe/Berlin shift stays 09:00 Berlin across a DST change) into one shift per occurrence from the
import's `since` until `until` (the horizon: the roster is expanded again on every refresh, so the
shifts roll forward). Pure functions: nothing here writes.
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import icalendar
import recurring_ical_events

from core.errors import invalid

MAX_EVENTS = 5000
MAX_OCCURRENCES = 20000  # shifts one roster may expand to within the horizon (a minutely rule stops here)


@dataclass(frozen=True)
class Shift:
    names: tuple[str, ...]  # lower-cased usernames or email addresses it names
    start_at: datetime
    end_at: datetime
    summary: str


@dataclass
class ParsedRoster:
    shifts: list[Shift] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # why events were left out, one line each


def _aware(value, zone: zoneinfo.ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=zone) if value.tzinfo is None else value).astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)
    raise ValueError("not a date or date-time")


def _names(event) -> tuple[str, ...]:
    names = []
    attendees = event.get("ATTENDEE")
    for attendee in attendees if isinstance(attendees, list) else ([attendees] if attendees else []):
        address = str(attendee)
        if address.lower().startswith("mailto:"):
            names.append(address[7:].strip().lower())
        cn = getattr(attendee, "params", {}).get("CN")
        if cn:
            names.append(str(cn).strip().lower())
    summary = str(event.get("SUMMARY") or "")
    names += [word.lower() for word in re.findall(r"[\w.@+-]+", summary)]
    return tuple(dict.fromkeys(name for name in names if name))


def _recurring(event) -> bool:
    return "RRULE" in event or "RDATE" in event or "RECURRENCE-ID" in event


def roster_parse(content: bytes | str, *, zone_name: str = "UTC", since: datetime | None = None,
                 until: datetime | None = None) -> ParsedRoster:
    """Parse an iCalendar text into shifts: every single event, and the occurrences of the recurring
    ones that end after `since` and start before `until` (defaults: a day ago, 92 days ahead). A text
    that is not iCalendar is a form error ("roster")."""
    try:
        zone = zoneinfo.ZoneInfo(zone_name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise invalid(f"Unknown time zone {zone_name!r}.", field="roster_zone")
    try:
        calendar = icalendar.Calendar.from_ical(content)
    except (ValueError, IndexError, KeyError) as error:
        raise invalid(f"That is not an iCalendar file: {error}", field="roster")
    parsed = ParsedRoster()
    events = list(calendar.walk("VEVENT"))
    if len(events) > MAX_EVENTS:
        raise invalid(f"The roster has {len(events)} events; at most {MAX_EVENTS} are imported.", field="roster")
    now = datetime.now(UTC)
    since = since or now - timedelta(days=1)
    until = until or now + timedelta(days=92)
    series = {str(event["UID"]) for event in events if _recurring(event) and "UID" in event}
    single = []
    for event in events:
        if not _recurring(event) and str(event.get("UID")) not in series:
            single.append(event)
        elif "UID" not in event:
            parsed.skipped.append(f"“{str(event.get('SUMMARY') or '')[:300]}”: a recurring event without a UID.")
    occurrences = _occurrences(calendar, series, since=since, until=until, parsed=parsed)
    expanded = {id(event) for event in occurrences}
    for event in single + occurrences:
        summary = str(event.get("SUMMARY") or "")[:300]
        try:
            start_value = event.decoded("DTSTART")
        except KeyError:
            parsed.skipped.append(f"“{summary}”: no DTSTART.")
            continue
        try:
            start = _aware(start_value, zone)
            if "DTEND" in event:
                end = _aware(event.decoded("DTEND"), zone)
            elif "DURATION" in event:
                end = start + event.decoded("DURATION")
            else:
                end = start + (timedelta(days=1) if not isinstance(start_value, datetime) else timedelta(0))
        except (ValueError, TypeError) as error:
            parsed.skipped.append(f"“{summary}”: {error}.")
            continue
        if end <= start:
            parsed.skipped.append(f"“{summary}”: it ends before it starts.")
            continue
        if id(event) in expanded and not (end > since and start < until):
            continue  # an occurrence outside the horizon (floating times and dates are cut here, in the zone)
        names = _names(event)
        if not names:
            parsed.skipped.append(f"“{summary}”: it names nobody (no ATTENDEE, an empty SUMMARY).")
            continue
        parsed.shifts.append(Shift(names=names, start_at=start, end_at=end, summary=summary))
    return parsed


def _occurrences(calendar, series: set[str], *, since: datetime, until: datetime, parsed: ParsedRoster) -> list:
    """The occurrences of the recurring events (UIDs `series`) in [since, until), in start order."""
    if not series:
        return []
    found = []
    try:
        for occurrence in recurring_ical_events.of(calendar).after(since):
            if str(occurrence.get("UID")) not in series:
                continue
            start = occurrence.decoded("DTSTART")
            start_utc = start if isinstance(start, datetime) and start.tzinfo else None
            if start_utc is not None and start_utc >= until:
                break
            if start_utc is None and (start if isinstance(start, datetime) else datetime.combine(start, time(0))) \
                    >= until.replace(tzinfo=None) + timedelta(days=1):
                break  # a floating time or a date: a day's margin for the roster's zone, cut exactly below
            if len(found) >= MAX_OCCURRENCES:
                parsed.skipped.append(f"The recurring events expand to more than {MAX_OCCURRENCES} shifts before "
                                      f"{until:%Y-%m-%d}; the rest are left out.")
                break
            found.append(occurrence)
    except (ValueError, TypeError, KeyError, recurring_ical_events.InvalidCalendar) as error:
        parsed.skipped.append(f"The recurring events could not be expanded: {error}.")
    return found
