"""The person's time zone: which zones exist, and labels that name the zone a form reads its times in.

Storage and the database stay in UTC. A middleware (`accounts.middleware.TimeZoneMiddleware`) activates
the signed-in person's zone for the request, so that pages render local times and Django's datetime form
fields read what was typed as local time. Labels made with `zone_label` say which zone that is.
"""

import zoneinfo
from datetime import datetime
from functools import cache

from django.utils import timezone
from django.utils.functional import lazy


@cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zone names this machine knows, sorted, `UTC` first."""
    names = sorted(name for name in zoneinfo.available_timezones() if "/" in name and not name.startswith("Etc/"))
    return ("UTC", *names)


def time_zone_valid(name: str) -> bool:
    return name in time_zone_names()


def time_zone_get(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of that name, or None for an unknown or empty one."""
    if not name or not time_zone_valid(name):
        return None
    return zoneinfo.ZoneInfo(name)


def _zone_label(text: str) -> str:
    return f"{text} ({timezone.get_current_timezone_name()})"


# Evaluated when the form renders, in the zone the request activated: "Start (Europe/Paris)".
zone_label = lazy(_zone_label, str)


def local_text(at: datetime) -> str:
    """A point in time as text in the current zone, for messages shown to the person ("2026-01-15 12:00 CET").

    The current zone is the person's on the pages and UTC in the REST API and background jobs; text that is
    stored (audit messages, a request's status message) or emailed keeps UTC instead."""
    local = timezone.localtime(at)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or timezone.get_current_timezone_name()}"
