"""Activate the signed-in person's time zone for the request (pages, and datetime form fields, which read
what was typed in the current zone). Unset, or for anonymous visitors and the REST API, times stay UTC."""

from django.utils import timezone

from core.timezones import time_zone_get

# The REST API's responses keep UTC whoever calls it (DRF renders datetimes in the current zone). Its
# HTML pages (tokens, docs) are not API responses.
API_PREFIX = "/api/v1/"
API_HTML_PAGES = ("/api/v1/tokens/", "/api/v1/docs/")


class TimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = None
        path = request.path_info
        if not path.startswith(API_PREFIX) or path.startswith(API_HTML_PAGES):
            user = getattr(request, "user", None)
            if user is not None and user.is_authenticated:
                zone = time_zone_get(user.time_zone)
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
