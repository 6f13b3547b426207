"""Every commit that queues an email kicks the relay (one publish to the broker). The kick keeps its
connection for the next one: connecting, opening a channel and declaring the queue on each commit cost
5 ms of CPU and about 30 ms of a loaded machine's request per activation. A broker that went away and
came back is reconnected to after the pause that follows a failed kick."""

import redis

from notifications import outbox

KICKS = 5


def _connections_received(url: str) -> int:
    return redis.Redis.from_url(url).info("stats")["total_connections_received"]


def test_kicks_share_one_broker_connection(redis_server, broker):
    broker(redis_server.url)
    outbox._kick_paused_until = 0.0
    outbox.outbox_kick()  # the first one connects
    before = _connections_received(redis_server.url)

    for _ in range(KICKS):
        outbox.outbox_kick()

    assert _connections_received(redis_server.url) - before == 1  # the probe's own, none for the kicks
    assert redis.Redis.from_url(redis_server.url).llen("celery") == 1 + KICKS  # every kick was published


def test_a_kick_after_the_broker_came_back_connects_again(redis_server, broker):
    broker(redis_server.url)
    outbox._kick_paused_until = 0.0
    outbox.outbox_kick()

    redis_server.stop()
    outbox.outbox_kick()  # fails quietly, and pauses the kicks
    assert outbox._kick_paused_until > 0
    redis_server.start()
    outbox._kick_paused_until = 0.0  # the pause is over
    outbox.outbox_kick()

    assert redis.Redis.from_url(redis_server.url).llen("celery") >= 1
