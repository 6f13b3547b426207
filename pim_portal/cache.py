"""The shared cache (PIM_CACHE_URL, Redis) with a per-process fallback while Redis is unreachable.

The cache holds only counters: allauth's sign-in rate limits and the API throttles. Losing Redis must
not turn every sign-in and API call into a 500; the limits then hold per process (looser by the number
of workers, never off) until Redis answers again. The outage is logged once when it starts and once
when it ends, not per request. While Redis is down, it is tried again at most every few seconds, so
requests do not each wait for a connect timeout.
"""

import logging
import threading
import time

from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class _Outage:
    """Per process and server: Django makes a cache object per thread, an outage is the process's."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down = False
        self.retry_at = 0.0

    def skip_redis(self) -> bool:
        return self.down and time.monotonic() < self.retry_at

    def begin(self, server: str, error: Exception, retry_seconds: float) -> None:
        with self.lock:
            self.retry_at = time.monotonic() + retry_seconds
            if self.down:
                return
            self.down = True
        logger.warning("Cache at %s is unreachable (%s): rate limits and API throttles count per process "
                       "until it answers again.", server, error)

    def end(self, server: str) -> None:
        with self.lock:
            if not self.down:
                return
            self.down = False
        logger.warning("Cache at %s answers again: rate limits and API throttles are shared again.", server)


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_of(server: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(server, _Outage())


class FallbackRedisCache(RedisCache):
    """Django's Redis cache; on any Redis error the same call goes to a local-memory cache instead.

    OPTIONS: FALLBACK_RETRY_SECONDS (default 5) between attempts to reach Redis again; short socket
    timeouts by default so that a Redis that does not answer costs half a second, not a hang."""

    def __init__(self, server, params):
        options = dict(params.get("OPTIONS") or {})
        self.retry_seconds = float(options.pop("FALLBACK_RETRY_SECONDS", 5.0))
        options.setdefault("socket_connect_timeout", 0.5)
        options.setdefault("socket_timeout", 0.5)
        super().__init__(server, {**params, "OPTIONS": options})
        self._server_label = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_of(self._server_label)
        # LocMemCache keeps its data per name at module level: every thread's instance shares it.
        self._local = LocMemCache(f"pim-fallback:{self._server_label}", {**params, "OPTIONS": {}})

    def _call(self, method: str, *args, **kwargs):
        if self._outage.skip_redis():
            return getattr(self._local, method)(*args, **kwargs)
        try:
            result = getattr(RedisCache, method)(self, *args, **kwargs)
        except RedisError as error:
            self._outage.begin(self._server_label, error, self.retry_seconds)
            return getattr(self._local, method)(*args, **kwargs)
        self._outage.end(self._server_label)
        return result

    def add(self, *args, **kwargs):
        return self._call("add", *args, **kwargs)

    def get(self, *args, **kwargs):
        return self._call("get", *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", *args, **kwargs)

    def incr(self, *args, **kwargs):
        return self._call("incr", *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", *args, **kwargs)

    def clear(self):
        self._local.clear()
        return self._call("clear")
