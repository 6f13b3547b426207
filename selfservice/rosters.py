"""On-call rosters in iCalendar (RFC 5545): which user is on call when.

Each VEVENT names the people on call in its ATTENDEE properties (`mailto:` address, or CN) or its
SUMMARY ("On call: alice"); an ATTENDEE address is matched to a user's email, a CN or a word of the
SUMMARY to a username (case-insensitive). DTSTART/DTEND are read with their TZID (or as UTC with `Z`);
floating times and all-day dates are read in the roster's zone. A VEVENT without DTEND lasts its
DURATION, or one day for an all-day date. Recurrence rules (RRULE) are not expanded: such an event
counts once, and the import says how many there were. Pure functions: nothing here writes.
"""

import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import icalendar

from core.errors import invalid

MAX_EVENTS = 5000


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


def roster_parse(content: bytes | str, *, zone_name: str = "UTC") -> ParsedRoster:
    """Parse an iCalendar text into shifts. A text that is not iCalendar is a form error ("roster")."""
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
    for event in events:
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
        if "RRULE" in event:
            parsed.skipped.append(f"“{summary}”: its recurrence rule is not expanded (its first occurrence counts).")
        names = _names(event)
        if not names:
            parsed.skipped.append(f"“{summary}”: it names nobody (no ATTENDEE, an empty SUMMARY).")
            continue
        parsed.shifts.append(Shift(names=names, start_at=start, end_at=end, summary=summary))
    return parsed
