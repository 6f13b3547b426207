"""A GET of an address that only takes a form's POST (deactivate, approve, sign out, …): a page that says
so and links back, not Django's empty 405."""

from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

NOT_PAGES = ("/api/", "/static/", "/admin/")


class MethodNotAllowedPageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (response.status_code != 405 or request.method not in ("GET", "HEAD")
                or request.path.startswith(NOT_PAGES) or response.content):
            return response
        back = request.META.get("HTTP_REFERER", "")
        if not back or back == request.build_absolute_uri() or not url_has_allowed_host_and_scheme(
                back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
            back = "/"
        page = render(request, "405.html", {"back": back}, status=405)
        if "Allow" in response.headers:
            page.headers["Allow"] = response.headers["Allow"]
        return page
