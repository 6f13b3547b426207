"""Per-token throttles (per user for session callers), rates from `REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]`
(`PIM_API_WRITE_RATE`, `PIM_API_CHECK_RATE`). Counters live in Django's cache: with several server
processes, use a shared cache (e.g. Redis) for an exact limit; the local-memory default limits per process."""

from rest_framework.throttling import SimpleRateThrottle

from audit.middleware import client_ip_of

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _PerCredentialThrottle(SimpleRateThrottle):
    def get_ident(self, request):
        # The portal's client address (PIM_TRUSTED_PROXIES), not DRF's NUM_PROXIES reading of the header.
        return client_ip_of(request._request) or "unknown"

    def get_cache_key(self, request, view):
        token = getattr(request, "auth", None)
        if token is not None and hasattr(token, "prefix"):
            ident = f"token:{token.pk}"
        elif getattr(request.user, "is_authenticated", False) and getattr(request.user, "pk", None) is not None:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class WriteThrottle(_PerCredentialThrottle):
    """Every unsafe method (POST, PUT, PATCH, DELETE) of the API."""

    scope = "api_write"

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class CheckThrottle(_PerCredentialThrottle):
    """The check endpoint."""

    scope = "api_check"
