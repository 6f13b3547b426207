"""With PIM_CACHE_URL on Redis (the advice for several workers), stopping Redis must not stop the portal:
sign-in, API writes and the check endpoint keep answering, their rate limits and throttles count per
process meanwhile (still enforced), the outage is logged once (not per request), and the shared counters
come back with Redis."""

import logging
import shutil

import pytest
import redis
from django.test import override_settings
from django.urls import reverse

from tests.jobs.conftest import RedisServer, free_port

from .conftest import eligible_of


@pytest.fixture
def cache_redis():
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = RedisServer(free_port())
    server.start()
    caches = {"default": {"BACKEND": "pim_portal.cache.FallbackRedisCache", "LOCATION": server.url,
                          "OPTIONS": {"FALLBACK_RETRY_SECONDS": 0}}}  # try Redis on every call: a worst case
    try:
        with override_settings(CACHES=caches):
            yield server
    finally:
        server.stop()


def _outage_logs(caplog):
    return [r for r in caplog.records if r.name == "pim_portal.cache" and "unreachable" in r.getMessage()]


def _sign_in(client, login, password="pw-for-tests-123"):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def test_sign_in_api_writes_and_checks_survive_a_redis_outage(cache_redis, client, world, requester_p, auditor_p,
                                                              caplog):
    assert _sign_in(client, "requester").status_code == 302
    assert redis.Redis.from_url(cache_redis.url).dbsize() > 0  # the counters really are in Redis
    client.logout()

    cache_redis.stop()
    with caplog.at_level(logging.WARNING, logger="pim_portal.cache"):
        assert _sign_in(client, "requester").status_code == 302
        client.logout()

        eligible = eligible_of(requester_p, "helpdesk-administrator")
        write = requester_p.client().post("/api/v1/requests/", {
            "action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60, "justification": "x",
            "ticket_system": "jira", "ticket_number": "OPS-1"}, format="json")
        assert write.status_code == 201, write.content

        for _ in range(3):
            check = auditor_p.client().get("/api/v1/check", {"principal": requester_p.principal.pk,
                                                              "role": "helpdesk-administrator"})
            assert check.status_code == 200 and check.json()["allowed"] is True

        # The limits still hold, per process: 5 failures lock the account out.
        for _ in range(5):
            assert _sign_in(client, "approver", "wrong-password-1").status_code == 400
        locked = _sign_in(client, "approver")
        assert b"Too many failed login attempts" in locked.content
        assert "_auth_user_id" not in client.session
    assert len(_outage_logs(caplog)) == 1

    cache_redis.start()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pim_portal.cache"):
        assert _sign_in(client, "requester").status_code == 302
    assert [r.getMessage() for r in caplog.records if "answers again" in r.getMessage()]
    assert redis.Redis.from_url(cache_redis.url).dbsize() > 0
