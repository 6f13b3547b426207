"""Webhook and SCIM calls resolve the host name when they connect, refuse loopback, private, link-local
and metadata addresses (whatever the name looks like), and connect to the very address they checked
(no second lookup a rebinding DNS server could answer differently), keeping the name as Host.

The resolver is stubbed (socket.getaddrinfo): names point where each test says."""

import ipaddress
import socket

import pytest

from connectors.kinds import ConnectorRefused
from connectors.kinds.webhook import WebhookSession
from notifications.models import OutboxMessage
from notifications.outbox import PermanentDeliveryError

from .conftest import deliveries


@pytest.fixture
def dns(monkeypatch):
    """A resolver stub in place of socket.getaddrinfo: answers["name"] = ["address", …]. IP literals
    resolve as usual; every other name is unknown. Records each name looked up."""
    answers, lookups = {}, []
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        host = host.decode() if isinstance(host, bytes) else host
        try:
            ipaddress.ip_address(host)
        except ValueError:
            lookups.append(host)
            if host not in answers:
                raise socket.gaierror(socket.EAI_NONAME, f"no such name in the stub: {host}") from None
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "",
                     (a, int(port or 0), 0, 0) if ":" in a else (a, int(port or 0))) for a in answers[host]]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


def _post(url) -> int:
    """One signed delivery as the relay sends it; the receiver's status code."""
    with WebhookSession(config={"url": url}, secret="s") as session:
        code, _reason = session.post_event(event="assignment.created", delivery_id="d-1", body=b"{}")
    return code


@pytest.mark.parametrize("addresses", [["127.0.0.1"], ["169.254.169.254"], ["10.0.0.1"], ["::1"],
                                       ["fd00:ec2::254"], ["93.184.215.14", "127.0.0.1"]])
def test_names_resolving_to_internal_addresses_are_refused(settings, dns, addresses):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    answers, _ = dns
    answers["127.0.0.1.nip.io"] = addresses
    with pytest.raises(ConnectorRefused, match="the portal does not call it"):
        _post("http://127.0.0.1.nip.io/hook")


def test_scim_calls_are_refused_the_same_way(settings, dns):
    from scim2_models import User

    from provisioning.scim_protocol import scim_client

    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    answers, _ = dns
    answers["scim.partner.example"] = ["169.254.169.254"]
    scim = scim_client(base_url="https://scim.partner.example/v2", token="t")
    with pytest.raises(PermanentDeliveryError, match="169.254.169.254"):
        scim.query(User)


def test_a_refused_webhook_delivery_fails_at_once_with_the_reason(settings, dns, directory, make_webhook, relay):
    answers, _ = dns
    answers["hooks.partner.example"] = ["10.1.2.3"]
    make_webhook("assignment.created", url="https://hooks.partner.example/pim")
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    directory.grant(directory.user("bob"), "security-reader")
    relay()
    [delivery] = deliveries()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "10.1.2.3" in delivery.last_error and "private" in delivery.last_error
    assert OutboxMessage.objects.get(pk=delivery.outbox_message_id).status == "failed"


def test_the_connection_goes_to_the_checked_address_with_the_name_as_host(settings, dns, receiver):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = True  # the stand-in "public" peer listens on loopback
    answers, lookups = dns
    port = receiver.server.server_address[1]
    answers["hooks.partner.example"] = ["127.0.0.1"]  # a name the real DNS does not know
    assert _post(f"http://hooks.partner.example:{port}/hooks/pim") == 200
    assert receiver.received[0]["headers"]["host"] == f"hooks.partner.example:{port}"
    assert lookups == ["hooks.partner.example"]  # one lookup, the one that was checked


def test_an_allowed_internal_network_is_called(settings, dns, receiver):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    settings.PIM_PROVISIONING_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    answers, _ = dns
    answers["scim.corp.internal"] = ["127.0.0.1"]
    port = receiver.server.server_address[1]
    assert _post(f"http://scim.corp.internal:{port}/hooks/pim") == 200


@pytest.mark.parametrize("url", ["http://metadata.google.internal/computeMetadata/v1/", "http://10.0.0.1/hook",
                                 "http://[fd00:ec2::254]/"])
def test_metadata_names_and_private_literals_are_refused_when_registered(settings, url, global_admin):
    from django.utils import timezone

    from connectors.models import Target
    from connectors.services import webhook_target_create
    from core.errors import DomainError
    from provisioning.urlpolicy import outbound_url_problem

    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = False
    assert "does not call" in (outbound_url_problem(url) or "")
    with pytest.raises(DomainError, match="does not call") as refused:
        webhook_target_create(actor=global_admin, name="Internal", config={"url": url,
                              "event_types": ["assignment.created"]}, mfa_verified_at=timezone.now())
    assert "url" in refused.value.errors and not Target.objects.exists()


def test_https_keeps_the_name_for_tls_and_connects_to_the_address(dns):
    import httpx

    from provisioning.outbound import PinnedTransport

    answers, _ = dns
    answers["scim.partner.example"] = ["93.184.215.14"]
    seen = []
    transport = PinnedTransport(httpx.MockTransport(lambda request: seen.append(request) or httpx.Response(204)))
    with httpx.Client(transport=transport) as client:
        client.get("https://scim.partner.example/v2/Users")
    (request,) = seen
    assert str(request.url) == "https://93.184.215.14/v2/Users"
    assert request.headers["host"] == "scim.partner.example"
    assert request.extensions["sni_hostname"] == "scim.partner.example"
