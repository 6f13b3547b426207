"""Response headers Django 5.2 does not set itself: Content-Security-Policy and Permissions-Policy."""

from django.conf import settings


class SecurityHeadersMiddleware:
    """Every response gets the portal's CSP and Permissions-Policy, unless a view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.PIM_CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", settings.PIM_PERMISSIONS_POLICY)
        return response
