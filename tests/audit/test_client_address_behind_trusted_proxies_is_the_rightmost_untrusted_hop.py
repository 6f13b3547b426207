"""PIM_TRUSTED_PROXIES (a number of hops or the proxies' networks) makes the client address the rightmost
X-Forwarded-For hop that no trusted proxy vouches for; without it X-Forwarded-For is ignored. Values a
client puts in the header itself (the leftmost ones) are never taken."""

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse

from audit.middleware import client_ip_of
from audit.models import AuditEvent

PROXY = "10.0.0.2"


def _request(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_the_header_is_ignored():
    assert client_ip_of(_request(PROXY, "203.0.113.5")) == PROXY


@pytest.mark.parametrize("trusted", [1, ["10.0.0.0/8"]])
def test_one_proxy_gives_the_address_it_saw_and_ignores_what_the_client_wrote(trusted):
    with override_settings(PIM_TRUSTED_PROXIES=trusted):
        assert client_ip_of(_request(PROXY, "203.0.113.5")) == "203.0.113.5"
        assert client_ip_of(_request(PROXY, "6.6.6.6, 203.0.113.5")) == "203.0.113.5"
        assert client_ip_of(_request(PROXY, "not-an-ip, 203.0.113.5")) == "203.0.113.5"
        assert client_ip_of(_request(PROXY)) == PROXY


def test_two_hops_by_count_and_by_network():
    header = "6.6.6.6, 203.0.113.5, 10.0.0.7"
    with override_settings(PIM_TRUSTED_PROXIES=2):
        assert client_ip_of(_request(PROXY, header)) == "203.0.113.5"
    with override_settings(PIM_TRUSTED_PROXIES=["10.0.0.0/24", "192.0.2.1"]):
        assert client_ip_of(_request(PROXY, header)) == "203.0.113.5"
        assert client_ip_of(_request("192.0.2.1", "203.0.113.9")) == "203.0.113.9"


def test_a_client_that_is_not_a_trusted_proxy_cannot_forward_for_anyone():
    with override_settings(PIM_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert client_ip_of(_request("198.51.100.20", "10.0.0.1")) == "198.51.100.20"


def test_garbage_from_a_trusted_proxy_keeps_the_last_address_it_vouched_for():
    with override_settings(PIM_TRUSTED_PROXIES=["10.0.0.0/8"]):
        assert client_ip_of(_request(PROXY, "203.0.113.5, garbage")) == PROXY


def test_the_audit_log_records_the_client_behind_the_proxy(client, directory, requester):
    with override_settings(PIM_TRUSTED_PROXIES=1):
        client.post(reverse("account_login"), {"login": "requester", "password": "wrong-password-1"},
                    REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")
    assert AuditEvent.objects.get(action="auth.sign_in_failed").client_ip == "203.0.113.5"
