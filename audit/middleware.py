import ipaddress
from functools import lru_cache

from django.conf import settings

from . import context


@lru_cache(maxsize=8)
def _trusted_networks(trusted: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False) for network in trusted)


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None


def client_ip_of(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind trusted reverse proxies the rightmost untrusted hop
    of X-Forwarded-For. The one answer for rate limits (allauth's and the API's), activation conditions
    and the audit log.

    settings.PIM_TRUSTED_PROXIES is a number of proxy hops (each appends the address it saw) or a list
    of networks the proxies live in. Entries left of the proxies' own are whatever the client sent, so
    the walk goes right to left and stops at the first address no trusted proxy vouches for; a forged
    leftmost value is never reached.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = getattr(settings, "PIM_TRUSTED_PROXIES", 0)
    if not trusted or remote is None:
        return remote
    networks = () if isinstance(trusted, int) else _trusted_networks(tuple(trusted))

    def is_proxy(depth: int, address) -> bool:
        if isinstance(trusted, int):
            return depth < trusted
        return any(address in network for network in networks)

    forwarded = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
    client = remote
    for depth, hop in enumerate(reversed([*forwarded, remote])):  # the nearest hop first
        address = _address(hop)
        if address is None:
            break  # not an address: keep the last hop a trusted proxy vouched for
        client = str(address)
        if not is_proxy(depth, address):
            break
    return client


class AuditContextMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with context.bind(client_ip=client_ip_of(request)):
            request.correlation_id = context.current().correlation_id
            return self.get_response(request)
