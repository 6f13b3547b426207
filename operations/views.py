"""The probes and the metrics endpoint: no session, no template, no audit (they change nothing)."""

import hmac
import ipaddress
import json

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST

from audit.middleware import client_ip_of

from .health import readiness
from .metrics import metrics_text


def _text(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@never_cache
@require_safe
def healthz(request):
    """The process is up and serves requests (liveness): nothing else is checked."""
    return _text("ok\n")


@never_cache
@require_safe
def readyz(request):
    """200 when the database, the broker, a worker and the beat are all working; 503 with what is not."""
    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {"ready": ready, "checks": {check.name: check.as_dict() for check in checks}}
    return HttpResponse(json.dumps(body, indent=2) + "\n", status=200 if ready else 503,
                        content_type="application/json")


def metrics_access_allowed(request) -> bool:
    """A scraper that sends `Authorization: Bearer <PIM_METRICS_TOKEN>` (when one is set), or one whose address
    is in PIM_METRICS_ALLOWED_NETWORKS (default: loopback only)."""
    token = settings.PIM_METRICS_TOKEN
    if token:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, sent = header.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode()):
            return True
    client = client_ip_of(request)
    try:
        address = ipaddress.ip_address(client or "")
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(network, strict=False)
               for network in settings.PIM_METRICS_ALLOWED_NETWORKS)


@never_cache
@require_safe
def metrics(request):
    if not metrics_access_allowed(request):
        return _text("Metrics are for the scraper: send 'Authorization: Bearer <PIM_METRICS_TOKEN>' or scrape from "
                     "a network in PIM_METRICS_ALLOWED_NETWORKS.\n", status=403)
    return HttpResponse(metrics_text(), content_type=CONTENT_TYPE_LATEST)
