"""The embedded Celery broker: a kombu transport over one SQLite file (``pimsqlite://``).

Used by ``make run`` when ``CELERY_BROKER_URL`` is unset. kombu's ``filesystem://`` transport lets a
reader pick up a message file before its writer has filled it (an empty or half-written file, an
``Unrecoverable error: JSONDecodeError`` that stops the worker) and forgets a message once it is
read, acknowledged or not. Here every operation is one SQLite transaction:

- publishing is an INSERT, so a message is either wholly there or not at all;
- receiving *claims* the oldest visible message in one ``UPDATE … RETURNING`` (two consumers never
  get the same row): the row stays, invisible until ``visibility_timeout`` seconds from now, marked
  with the consumer (``host:pid``);
- acknowledging deletes the row; rejecting with requeue, a warm shutdown and a lost pool process
  (``task_reject_on_worker_lost``) make it visible again;
- a consumer that died without a word (SIGKILL, OOM) leaves claimed rows behind: any consumer on the
  same host hands back the rows of a process that no longer exists (checked every few seconds), and
  the visibility timeout covers the rest.

So with ``task_acks_late`` a task runs at least once, and once unless its worker dies mid-task.
Bindings are rows too, so a publisher process and the worker agree on them. Fanout exchanges are
not supported (Celery then turns off remote control, which the embedded setup does not use).
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
from queue import Empty

from kombu.transport import TRANSPORT_ALIASES, virtual
from kombu.utils.objects import cached_property

SCHEMA = """
CREATE TABLE IF NOT EXISTS kombu_message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    payload TEXT NOT NULL,
    delivery_tag TEXT,
    visible_at REAL NOT NULL DEFAULT 0,
    claimed_by TEXT,
    deliveries INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS kombu_message_ready ON kombu_message (queue, visible_at, id);
CREATE INDEX IF NOT EXISTS kombu_message_tag ON kombu_message (delivery_tag);
CREATE TABLE IF NOT EXISTS kombu_binding (
    exchange TEXT NOT NULL,
    routing_key TEXT NOT NULL,
    pattern TEXT NOT NULL,
    queue TEXT NOT NULL,
    PRIMARY KEY (exchange, routing_key, pattern, queue)
);
"""

DEFAULT_VISIBILITY_TIMEOUT = 3600.0
DEAD_CONSUMER_CHECK_SECONDS = 5.0


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class QoS(virtual.QoS):
    """Acknowledgements are rows deleted, requeues are rows made visible again."""

    def ack(self, delivery_tag):
        self.channel._ack(delivery_tag)
        super().ack(delivery_tag)

    def reject(self, delivery_tag, requeue=False):
        if requeue:
            self.channel._release([delivery_tag])
        else:
            self.channel._ack(delivery_tag)
        self._quick_ack(delivery_tag)

    def restore_unacked(self):
        self._flush()
        tags = [tag for tag in self._delivered if tag not in self._dirty]
        self._delivered.clear()
        try:
            self.channel._release(tags)
        except Exception as exc:  # the rows stay claimed; the visibility timeout brings them back
            return [(exc, tag) for tag in tags]
        return []


class Channel(virtual.Channel):
    QoS = QoS
    supports_fanout = False
    do_restore = True

    _local = threading.local()

    # --- the database -----------------------------------------------------------------------------
    @cached_property
    def path(self) -> str:
        options = self.connection.client.transport_options
        path = options.get("path") or self.connection.client.virtual_host or "broker.sqlite3"
        return str(path)

    @cached_property
    def visibility_timeout(self) -> float:
        return float(self.connection.client.transport_options.get("visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT))

    @cached_property
    def synchronous(self) -> str:
        value = str(self.connection.client.transport_options.get("synchronous", "NORMAL")).upper()
        if value not in ("NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be NORMAL, FULL or EXTRA, not {value!r}")
        return value

    @cached_property
    def consumer_id(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}"

    def _db(self) -> sqlite3.Connection:
        """One connection per thread and process (never shared across a fork)."""
        local = self._local
        key = (os.getpid(), self.path)
        conns = getattr(local, "conns", None)
        if conns is None:
            conns = local.conns = {}
        db = conns.get(key)
        if db is None:
            db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
            db.execute("PRAGMA busy_timeout = 60000")
            db.execute("PRAGMA journal_mode = WAL")
            # WAL with NORMAL: a commit survives the crash of any process (FULL also a power cut, at
            # a third of the throughput on a laptop disk).
            db.execute(f"PRAGMA synchronous = {self.synchronous}")
            db.executescript(SCHEMA)
            conns[key] = db
        return db

    # --- publishing and receiving -----------------------------------------------------------------
    def _put(self, queue, message, **kwargs):
        tag = message.get("properties", {}).get("delivery_tag")
        self._db().execute(
            "INSERT INTO kombu_message (queue, payload, delivery_tag) VALUES (?, ?, ?)",
            (queue, json.dumps(message), tag),
        )

    def _get(self, queue, timeout=None):
        db = self._db()
        now = time.time()
        self._release_dead_consumers(now)
        # A plain read first: an idle poll takes no write lock.
        if db.execute(
            "SELECT 1 FROM kombu_message WHERE queue = ? AND visible_at <= ? LIMIT 1", (queue, now)
        ).fetchone() is None:
            raise Empty()
        row = db.execute(
            "UPDATE kombu_message SET visible_at = ?, claimed_by = ?, deliveries = deliveries + 1 "
            "WHERE id = (SELECT id FROM kombu_message WHERE queue = ? AND visible_at <= ? ORDER BY id LIMIT 1) "
            "RETURNING payload, deliveries",
            (now + self.visibility_timeout, self.consumer_id, queue, now),
        ).fetchone()
        if row is None:
            raise Empty()
        payload = json.loads(row[0])
        if row[1] > 1:
            payload["redelivered"] = True
        return payload

    def _ack(self, delivery_tag) -> None:
        self._db().execute("DELETE FROM kombu_message WHERE delivery_tag = ?", (delivery_tag,))

    def _release(self, delivery_tags) -> None:
        if not delivery_tags:
            return
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.executemany(
                "UPDATE kombu_message SET visible_at = 0, claimed_by = NULL WHERE delivery_tag = ?",
                [(tag,) for tag in delivery_tags],
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    _dead_checked_at = 0.0

    def _release_dead_consumers(self, now: float) -> None:
        """Hand back what processes of this host that no longer exist had claimed."""
        if now - self._dead_checked_at < DEAD_CONSUMER_CHECK_SECONDS:
            return
        self._dead_checked_at = now
        db = self._db()
        host = socket.gethostname()
        claimants = db.execute(
            "SELECT DISTINCT claimed_by FROM kombu_message WHERE claimed_by IS NOT NULL AND visible_at > ?", (now,)
        ).fetchall()
        for (claimant,) in claimants:
            claimant_host, _, pid = claimant.rpartition(":")
            if claimant_host != host or not pid.isdigit() or _process_exists(int(pid)):
                continue
            db.execute(
                "UPDATE kombu_message SET visible_at = 0, claimed_by = NULL WHERE claimed_by = ?", (claimant,)
            )

    def _restore(self, message):
        # Redelivery keeps the row (and its delivery tag): make it visible again, never copy it.
        self._release([message.delivery_tag])

    # --- queues and bindings ----------------------------------------------------------------------
    def _size(self, queue):
        return self._db().execute("SELECT COUNT(*) FROM kombu_message WHERE queue = ?", (queue,)).fetchone()[0]

    def _purge(self, queue):
        return self._db().execute(
            "DELETE FROM kombu_message WHERE queue = ? AND claimed_by IS NULL", (queue,)
        ).rowcount

    def _delete(self, queue, *args, **kwargs):
        super()._delete(queue, *args, **kwargs)
        db = self._db()
        db.execute("DELETE FROM kombu_message WHERE queue = ?", (queue,))
        db.execute("DELETE FROM kombu_binding WHERE queue = ?", (queue,))

    def queue_bind(self, queue, exchange=None, routing_key="", arguments=None, **kwargs):
        # kombu keeps bindings in the process (and writes them through only for fanout): here every
        # binding is a row, so that a publisher routes to a queue another process declared.
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)
        exchange = exchange or "amq.direct"
        self._queue_bind(exchange, *self.typeof(exchange).prepare_bind(queue, exchange, routing_key, arguments))

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        self._db().execute(
            "INSERT OR IGNORE INTO kombu_binding (exchange, routing_key, pattern, queue) VALUES (?, ?, ?, ?)",
            (exchange, routing_key or "", pattern or "", queue or ""),
        )

    def get_table(self, exchange):
        rows = self._db().execute(
            "SELECT routing_key, pattern, queue FROM kombu_binding WHERE exchange = ?", (exchange,)
        ).fetchall()
        return [tuple(row) for row in rows]

class Transport(virtual.Transport):
    Channel = Channel
    polling_interval = 0.2
    default_port = 0
    driver_type = "sqlite"
    driver_name = "sqlite3"
    implements = virtual.Transport.implements.extend(asynchronous=False, exchange_type=frozenset(["direct", "topic"]))

    #: How long to wait before polling again while the consumer holds as many unacknowledged
    #: messages as its prefetch limit allows (an acknowledgement frees a slot at any moment).
    busy_polling_interval = 0.005

    @property
    def default_connection_params(self):
        return {"port": 0, "hostname": ""}  # a file, not a host (and no "No hostname was supplied")

    def driver_version(self):
        return sqlite3.sqlite_version

    def drain_events(self, connection, timeout=None):
        """kombu's loop, except that a full prefetch window is polled again after 5 ms, not 0.2 s."""
        started = time.monotonic()
        while True:
            try:
                self.cycle.get(self._deliver, timeout=timeout)
                return
            except Empty:
                if timeout is not None and time.monotonic() - started >= timeout:
                    raise TimeoutError() from None
                busy = any(ch._consumers and not ch.qos.can_consume() for ch in self.channels)
                interval = self.busy_polling_interval if busy else self.polling_interval
                if timeout is not None:
                    interval = min(interval, max(0.0, timeout - (time.monotonic() - started)))
                time.sleep(interval)


TRANSPORT_ALIASES.setdefault("pimsqlite", "pim_portal.broker:Transport")
