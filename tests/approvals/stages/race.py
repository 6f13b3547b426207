"""Helpers of the PostgreSQL race tests of staged approval: threads that decide, a holder of a row lock,
and a wait for backends blocked on a lock."""

import threading
import time

from django.db import connection, transaction

from core.errors import DomainError


def lock_waiters() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                       "AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0]


def wait_until(condition, seconds=20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Outcomes(dict):
    def run(self, name, call) -> threading.Thread:
        def target():
            try:
                call()
                self[name] = "ok"
            except DomainError as error:
                self[name] = error.code
            finally:
                connection.close()

        thread = threading.Thread(target=target, name=name)
        thread.start()
        return thread


class RowHolder:
    """Holds `SELECT … FOR UPDATE` on one row in another connection until released (then rolls back)."""

    def __init__(self, queryset):
        self.ready, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(queryset,))

    def _hold(self, queryset):
        try:
            with transaction.atomic():
                list(queryset.select_for_update())
                self.ready.set()
                self.release.wait(30)
                transaction.set_rollback(True)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(30)
