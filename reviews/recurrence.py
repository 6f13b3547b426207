"""Recurrence arithmetic of access reviews: pure functions on dates, no database.

Occurrence n (0-based) starts at `start_date + n × interval`, always computed from the *anchor*
(the first start date), never from the previous occurrence: a review anchored on 31 January runs on
28/29 February and then on 31 March again, not on the 28th for ever after.

The shortest gap between two occurrences (`MIN_INTERVAL_DAYS`) bounds the duration: an instance may
last at most that long, so it always ends at or before the next one starts.
"""

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil.relativedelta import relativedelta

ONE_TIME = "one_time"
WEEKLY = "weekly"
MONTHLY = "monthly"
QUARTERLY = "quarterly"
SEMI_ANNUALLY = "semi_annually"
ANNUALLY = "annually"

STEPS = {
    WEEKLY: relativedelta(weeks=1),
    MONTHLY: relativedelta(months=1),
    QUARTERLY: relativedelta(months=3),
    SEMI_ANNUALLY: relativedelta(months=6),
    ANNUALLY: relativedelta(years=1),
}

# The shortest gap between two consecutive occurrences for any anchor day (month ends clamp:
# 31 Jan → 28 Feb is 28 days; 31 Jan → 30 Apr is 89; 31 Aug → 28 Feb is 181; 29 Feb → 28 Feb is 365).
MIN_INTERVAL_DAYS = {WEEKLY: 7, MONTHLY: 28, QUARTERLY: 89, SEMI_ANNUALLY: 181, ANNUALLY: 365}

NEVER = "never"
ON_DATE = "on_date"
AFTER_COUNT = "after_count"


def occurrence_date(*, anchor: date, recurrence: str, index: int) -> date:
    """The start date of occurrence `index` (0 is the anchor). relativedelta clamps to the month's
    last day, and each occurrence is computed from the anchor, so the anchor's day comes back."""
    if index < 0:
        raise ValueError("index must be 0 or more")
    if index == 0:
        return anchor
    if recurrence == ONE_TIME:
        raise ValueError("a one-time review has a single occurrence")
    return anchor + STEPS[recurrence] * index


def occurrence_exists(*, anchor: date, recurrence: str, index: int, end_type: str, end_date: date | None,
                      occurrences: int | None) -> bool:
    """Does the series have an occurrence `index` (0-based) under its end rule?"""
    if index == 0:
        return True
    if recurrence == ONE_TIME:
        return False
    if end_type == AFTER_COUNT:
        return occurrences is not None and index < occurrences
    if end_type == ON_DATE:
        return end_date is not None and occurrence_date(anchor=anchor, recurrence=recurrence, index=index) <= end_date
    return True


def occurrences_between(*, anchor: date, recurrence: str, end_type: str = NEVER, end_date: date | None = None,
                        occurrences: int | None = None, limit: int = 1000) -> Iterator[date]:
    """The series' start dates in order (at most `limit`)."""
    index = 0
    while index < limit and occurrence_exists(anchor=anchor, recurrence=recurrence, index=index, end_type=end_type,
                                              end_date=end_date, occurrences=occurrences):
        yield occurrence_date(anchor=anchor, recurrence=recurrence, index=index)
        index += 1


def duration_fits(*, recurrence: str, duration_days: int) -> bool:
    """True when an instance of `duration_days` always ends at or before the next occurrence starts."""
    if duration_days < 1:
        return False
    if recurrence == ONE_TIME:
        return True
    return duration_days <= MIN_INTERVAL_DAYS[recurrence]


def instance_window(*, start: date, duration_days: int, zone: tzinfo = UTC) -> tuple[datetime, datetime]:
    """An occurrence runs from midnight (in the review's zone) of its start date for `duration_days` whole
    days of that zone, so a day across a clock change is 23 or 25 hours. Returned in UTC."""
    start_at = datetime.combine(start, time.min, tzinfo=zone)
    end_at = datetime.combine(start + timedelta(days=duration_days), time.min, tzinfo=zone)
    return start_at.astimezone(UTC), end_at.astimezone(UTC)
