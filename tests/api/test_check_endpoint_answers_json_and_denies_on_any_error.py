"""Whatever fails while the check is evaluated (the cache behind its throttle, the database, a bug), the
answer is the documented 503 JSON with `allowed: false`, never Django's HTML error page and never a grant."""

import shutil

import pytest
from django.test import override_settings

from tests.jobs.conftest import RedisServer, free_port


def _assert_denied_as_json(response):
    assert response.status_code == 503
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["allowed"] is False and body["assignment"] is None and body["error"]


def _check(persona):
    client = persona.client()
    client.raise_request_exception = False  # see what a caller would get
    return client.get("/api/v1/check", {"principal": persona.principal.pk, "role": "global-reader"})


def test_an_unexpected_error_in_the_decision_is_a_503_denial(world, auditor_p, monkeypatch):
    assert _check(auditor_p).json()["allowed"] is True

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("api.views.access_find_grant", broken)
    _assert_denied_as_json(_check(auditor_p))


def test_a_plain_redis_cache_that_went_away_is_a_503_denial(world, auditor_p):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = RedisServer(free_port())
    server.start()
    server.stop()
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": server.url}}
    with override_settings(CACHES=caches):
        _assert_denied_as_json(_check(auditor_p))
