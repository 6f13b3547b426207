"""`{{ value|when }}`: a point in time in the viewer's zone, with the UTC time on hover.

Loaded as a template builtin (settings `TEMPLATES`), so every page can use it without `{% load %}`:

    {{ a.end_at|when }}            -> <time datetime="2026-12-01T14:00:00Z" title="2026-12-01 14:00 UTC">
                                        2026-12-01 15:00 CET</time>
    {{ a.created_at|when:"Y-m-d" }} -> the local date only (same title and datetime)

The zone is the one the request activated (the person's profile setting); emails and background jobs
render in UTC. Empty values render as an empty string, so `|default:"never"` still works after it.
"""

from datetime import UTC, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

register = template.Library()

TIME_CHARACTERS = set("aAfgGhHiPsuU")


@register.filter(is_safe=True)
def when(value, fmt="Y-m-d H:i"):
    if not isinstance(value, datetime):
        return value if value else ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    utc = value.astimezone(UTC)
    local = timezone.localtime(value)
    text = date_format(local, fmt)
    if TIME_CHARACTERS & set(fmt):
        text = f"{text} {local.tzname() or timezone.get_current_timezone_name()}"
    seconds = ":s" if "s" in fmt else ""
    return format_html('<time datetime="{}" title="{} UTC">{}</time>', utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                       date_format(utc, f"Y-m-d H:i{seconds}"), text)
