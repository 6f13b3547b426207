"""Which outbound URLs the portal calls (webhook receivers, SCIM peers).

http(s) only, no credentials in the URL, no loopback or metadata host names, and no literal address
that `address_kind_refused` refuses (loopback, private, link-local, metadata, …) unless
settings.PIM_PROVISIONING_ALLOW_LOOPBACK is true (tests, local development) or the address is in
settings.PIM_PROVISIONING_ALLOWED_NETWORKS. Host names are not resolved here (a DNS answer at
configuration time proves nothing later): every connection resolves and checks the name again and
connects to the checked address (`outbound.PinnedTransport`).
"""

import ipaddress
import re
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.goog", "instance-data",
                  "instance-data.ec2.internal"}


# Cloud metadata services that do not sit in link-local space (AWS's IPv6 one is unique local anyway).
METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254"), ipaddress.ip_address("100.100.100.200")}


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(network, strict=False) for network in allowed)


def address_kind_refused(address: str) -> str | None:
    """What kind of address `address` (an IP literal) is, when the portal does not call it; else None."""
    ip = ipaddress.ip_address(address.strip("[]").split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if getattr(settings, "PIM_PROVISIONING_ALLOW_LOOPBACK", False):
        return None
    if any(ip in network for network in _networks(tuple(getattr(settings, "PIM_PROVISIONING_ALLOWED_NETWORKS", ())))):
        return None
    if ip in METADATA_ADDRESSES or ip.is_link_local:
        return "a link-local (cloud metadata) address"
    if ip.is_loopback or ip.is_unspecified:
        return "a loopback or unspecified address"
    if ip.is_multicast or ip.is_reserved:
        return "a multicast or reserved address"
    if ip.is_private or not ip.is_global:
        return "a private address (allow its network with PIM_PROVISIONING_ALLOWED_NETWORKS)"
    return None


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
    if host in METADATA_NAMES:
        return "The portal does not call cloud metadata services."
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        if re.fullmatch(r"[0-9.]+|0x[0-9a-fx.]+", host):
            return "Write an IP address in dotted form (a.b.c.d) or use a host name."
        return None
    kind = address_kind_refused(str(address))
    if kind:
        return f"{address} is {kind}: the portal does not call it."
    return None
