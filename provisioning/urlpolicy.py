"""Which outbound URLs the portal calls (webhook receivers, SCIM peers).

http(s) only, no credentials in the URL, and no loopback, link-local (cloud metadata), unspecified or
multicast literal addresses unless settings.PIM_PROVISIONING_ALLOW_LOOPBACK is true (tests, local
development). Private (RFC 1918) networks are allowed: SCIM peers and receivers are often internal.
Host names are not resolved here (no DNS at configuration time); an operator who needs a stricter
policy puts an egress proxy in front.
"""

import ipaddress
import re
from urllib.parse import urlsplit

from django.conf import settings

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def outbound_url_problem(url: str) -> str | None:
    """A sentence saying why the portal will not call `url`, or None when it may."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
        parts.port  # noqa: B018 — raises ValueError on a bad port
    except ValueError:
        return "That is not a valid URL."
    if parts.scheme not in ("http", "https"):
        return "Use an http:// or https:// URL."
    if not host:
        return "The URL needs a host name."
    if parts.username or parts.password:
        return "Do not put credentials in the URL."
    if getattr(settings, "PIM_PROVISIONING_ALLOW_LOOPBACK", False):
        return None
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return "The portal does not call loopback addresses."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if re.fullmatch(r"[0-9.]+|0x[0-9a-fx.]+", host):
            return "Write an IP address in dotted form (a.b.c.d) or use a host name."
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast:
        return "The portal does not call loopback, link-local, unspecified or multicast addresses."
    return None
