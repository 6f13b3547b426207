"""Occurrences are computed from the anchor: 31 January monthly → 28/29 February → 31 March; leap
days; end rules; the shortest interval bounds the duration so an instance never overlaps the next."""

from datetime import date, timedelta

import pytest

from reviews import recurrence as r


def _series(anchor, rec, n=5, **end):
    return list(r.occurrences_between(anchor=anchor, recurrence=rec, end_type=end.pop("end_type", r.AFTER_COUNT),
                                      occurrences=end.pop("occurrences", n), **end))


def test_monthly_from_january_31_clamps_to_february_and_returns_to_the_31st():
    assert _series(date(2027, 1, 31), r.MONTHLY) == [
        date(2027, 1, 31), date(2027, 2, 28), date(2027, 3, 31), date(2027, 4, 30), date(2027, 5, 31)]
    assert _series(date(2028, 1, 31), r.MONTHLY, 3) == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 31)]


def test_leap_day_anchors():
    assert _series(date(2028, 2, 29), r.ANNUALLY, 5) == [
        date(2028, 2, 29), date(2029, 2, 28), date(2030, 2, 28), date(2031, 2, 28), date(2032, 2, 29)]
    assert _series(date(2027, 11, 30), r.QUARTERLY, 3) == [date(2027, 11, 30), date(2028, 2, 29), date(2028, 5, 30)]
    assert _series(date(2027, 8, 31), r.SEMI_ANNUALLY, 3) == [date(2027, 8, 31), date(2028, 2, 29), date(2028, 8, 31)]


def test_weekly_and_end_rules():
    assert _series(date(2027, 12, 29), r.WEEKLY, 2) == [date(2027, 12, 29), date(2028, 1, 5)]
    assert _series(date(2027, 1, 15), r.MONTHLY, end_type=r.ON_DATE, end_date=date(2027, 3, 15), occurrences=None) \
        == [date(2027, 1, 15), date(2027, 2, 15), date(2027, 3, 15)]
    assert _series(date(2027, 1, 15), r.ONE_TIME, end_type=r.NEVER, occurrences=None) == [date(2027, 1, 15)]
    assert len(list(r.occurrences_between(anchor=date(2027, 1, 1), recurrence=r.WEEKLY, limit=60))) == 60


@pytest.mark.parametrize("rec", [r.WEEKLY, r.MONTHLY, r.QUARTERLY, r.SEMI_ANNUALLY, r.ANNUALLY])
def test_the_shortest_gap_between_occurrences_is_the_duration_limit(rec):
    """For every anchor day over four years (one leap cycle), consecutive occurrences are never closer
    than MIN_INTERVAL_DAYS, and some anchor reaches it exactly."""
    shortest = None
    day = date(2027, 1, 1)
    while day < date(2031, 1, 1):
        starts = _series(day, rec, 9)
        gap = min((b - a).days for a, b in zip(starts, starts[1:], strict=False))
        shortest = gap if shortest is None else min(shortest, gap)
        day += timedelta(days=1)
    assert shortest == r.MIN_INTERVAL_DAYS[rec]
    assert r.duration_fits(recurrence=rec, duration_days=shortest)
    assert not r.duration_fits(recurrence=rec, duration_days=shortest + 1)


def test_an_instance_window_starts_at_midnight_utc():
    start, end = r.instance_window(start=date(2028, 2, 28), duration_days=2)
    assert start.isoformat() == "2028-02-28T00:00:00+00:00" and end.isoformat() == "2028-03-01T00:00:00+00:00"
