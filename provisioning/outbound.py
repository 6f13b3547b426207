"""Where outbound calls (webhook receivers, SCIM peers) may connect, decided on the resolved address.

A host name says nothing about where it points (`127.0.0.1.nip.io`, `metadata.google.internal`, or a
name whose DNS answer changes between a check and the connection). So every request is resolved here,
each address is checked, and the connection goes to the checked address (pinned), with the name kept
as the Host header and the TLS server name (certificates are still verified against the name).

Which addresses are refused is `urlpolicy.address_kind_refused`.
"""

import socket

import httpx

from notifications.outbox import PermanentDeliveryError

from .urlpolicy import address_kind_refused


class OutboundAddressRefused(PermanentDeliveryError):
    """The target resolves to an address the portal does not call."""


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to, in the resolver's order (an IP literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        if sockaddr[0] not in addresses:
            addresses.append(sockaddr[0])
    return addresses


def pinned_address(host: str, port: int) -> str:
    """The checked address to connect to for `host`. Every address the name resolves to must pass, so
    that the answer cannot mix a harmless address with a forbidden one."""
    try:
        addresses = resolve_host(host.strip("[]"), port)
    except (OSError, UnicodeError) as error:
        raise httpx.ConnectError(f"Could not resolve {host}: {error}") from error
    if not addresses:
        raise httpx.ConnectError(f"Could not resolve {host}.")
    for address in addresses:
        kind = address_kind_refused(address)
        if kind:
            raise OutboundAddressRefused(f"{host} resolves to {address}, {kind}: the portal does not call it.")
    return addresses[0]


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport that connects only to checked addresses, to the very address it checked."""

    def __init__(self, wrapped: httpx.BaseTransport | None = None):
        self._wrapped = wrapped or httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        host = url.host
        address = pinned_address(host, url.port or (443 if url.scheme == "https" else 80))
        # The Host header was set from the original URL when the request was built, and stays.
        request.url = url.copy_with(host=address)
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": host}
        return self._wrapped.handle_request(request)

    def close(self) -> None:
        self._wrapped.close()
