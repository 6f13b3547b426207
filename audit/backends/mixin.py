"""The database backend side of the audit chain: a transaction's events are appended at its commit.

`audit.services` builds each event (every column but `seq`, `prev_hash` and `hash`) where the change
happens and hands it to the connection (`audit_defer`). The connection keeps the transaction's
events in order and appends them last, in `commit()`, right before COMMIT: lock the chain head, seal
the events (seq, hash), insert them in one statement, update the head, commit (`audit.chain.append`).
So the head is held for the append alone, never while the transaction does its own work, and it is
the last lock a transaction takes: no lock order can close a cycle through it.

Events recorded inside a savepoint that is rolled back are dropped with it (as Django drops on_commit
callbacks); a rolled-back transaction appends nothing. Outside any transaction an event is appended at
once, in its own short transaction.

Refusals (`audit_defer_after_transaction`) are kept apart: they are appended in their own transaction
once the caller's transaction has ended, whether it committed or rolled back.

Under a test case's wrapping transaction (pytest-django's `db`, Django's TestCase) nothing ever
commits: there, leaving the outermost block the code opened stands for its commit, so the tests see
what production commits, in the same order and with the same statements.
"""

import logging
import time
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

logger = logging.getLogger("audit.chain")


@dataclass
class PendingEvents:
    """Events waiting for the commit: their column values (sealed at the append) and, for events
    recorded one by one, the model instances handed back to the caller (their seq, hash and pk are
    filled in by the append)."""

    rows: list[dict]
    events: list | None = None
    savepoints: set = field(default_factory=set)


class AuditChainMixin:
    """Mixed into the project's PostgreSQL and SQLite `DatabaseWrapper` (settings ENGINE)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.audit_pending: list[PendingEvents] = []
        self.audit_after_transaction: list[PendingEvents] = []
        # The savepoints open when this transaction locked the chain head (None: not locked), and when.
        self.audit_head_locked_in: set | None = None
        self.audit_head_locked_at: float | None = None
        # Seconds the last commit held the chain head, from the lock to the end of COMMIT.
        self.audit_head_held: float | None = None

    # --- What audit.services calls ---------------------------------------------------------------

    def audit_defer(self, pending: PendingEvents) -> None:
        """Append these events when the current transaction commits (at once outside one)."""
        if self._audit_in_code_transaction():
            pending.savepoints = set(self.savepoint_ids)
            self.audit_pending.append(pending)
        else:
            with transaction.atomic(using=self.alias):
                pending.savepoints = set(self.savepoint_ids)
                self.audit_pending.append(pending)

    def audit_defer_after_transaction(self, pending: PendingEvents) -> None:
        """Append these events in their own transaction once the current one has ended, committed or
        rolled back (at once outside one)."""
        if self._audit_in_code_transaction():
            self.audit_after_transaction.append(pending)
        else:
            self.audit_defer(pending)

    def audit_flush(self, *, then_commit: bool = False) -> bool:
        """Append this transaction's events now; the head stays locked until the transaction ends.
        For the writers that read the head to sign it (checkpoints, purge), and for `commit()`, which
        asks for the COMMIT to go with the append (True when it did: see `audit.chain.append`)."""
        from audit import chain

        pending, self.audit_pending = self.audit_pending, []
        return chain.append(connection=self, pending=pending, then_commit=then_commit)

    def audit_note_head_locked(self) -> None:
        """Called by `audit.chain` once the head is locked: it is locked once per transaction."""
        if self.audit_head_locked_in is None:
            self.audit_head_locked_in = set(self.savepoint_ids)
            self.audit_head_locked_at = time.perf_counter()

    def _audit_head_released(self) -> None:
        self.audit_head_locked_in = None
        self.audit_head_locked_at = None

    # --- Transaction hooks ---------------------------------------------------------------------

    def commit(self):
        if self.audit_pending:
            try:
                # On PostgreSQL the COMMIT goes with the append; the commit() below then sends nothing.
                self.audit_flush(then_commit=True)
            except DatabaseError:
                raise  # atomic() rolls the transaction back
            except Exception:
                self.rollback()  # atomic() rolls back on database errors only
                raise
        locked_at = self.audit_head_locked_at
        super().commit()
        self._audit_head_released()
        if locked_at is not None:
            self.audit_head_held = time.perf_counter() - locked_at
            logger.debug("audit chain head held_ms=%.2f", self.audit_head_held * 1000)

    def rollback(self):
        super().rollback()
        self.audit_pending = []
        self._audit_head_released()

    def close(self):
        super().close()
        self.audit_pending = []
        self._audit_head_released()

    def savepoint_commit(self, sid):
        if self._audit_at_test_level() and self.audit_pending:
            self.audit_flush()  # before RELEASE, so that a failure rolls back to this savepoint
        super().savepoint_commit(sid)
        if self._audit_at_test_level():
            self._audit_head_released()
            self._audit_append_after_transaction()

    def savepoint_rollback(self, sid):
        super().savepoint_rollback(sid)
        self.audit_pending = [pending for pending in self.audit_pending if sid not in pending.savepoints]
        if self.audit_head_locked_in is not None and sid in self.audit_head_locked_in:
            self._audit_head_released()  # the lock was taken inside the savepoint: released with it
        if self._audit_at_test_level():
            self._audit_append_after_transaction()

    def set_autocommit(self, autocommit, force_begin_transaction_with_broken_autocommit=False):
        super().set_autocommit(autocommit, force_begin_transaction_with_broken_autocommit)
        if autocommit and self.audit_after_transaction and not self.in_atomic_block:
            self._audit_append_after_transaction()

    # --- Helpers ------------------------------------------------------------------------------------

    def _audit_in_code_transaction(self) -> bool:
        """In a transaction the code opened (not only a test case's wrapping one)?"""
        return self.in_atomic_block and not all(block._from_testcase for block in self.atomic_blocks)

    def _audit_at_test_level(self) -> bool:
        """Only a test case's wrapping blocks are left open: the code's transaction has just ended."""
        return bool(self.atomic_blocks) and all(block._from_testcase for block in self.atomic_blocks)

    def _audit_append_after_transaction(self) -> None:
        waiting, self.audit_after_transaction = self.audit_after_transaction, []
        if not waiting:
            return
        try:
            with transaction.atomic(using=self.alias):
                for pending in waiting:
                    pending.savepoints = set(self.savepoint_ids)
                    self.audit_pending.append(pending)
        except Exception:
            # Keep them for the end of the next transaction on this connection; the refusal itself
            # (the caller's error) goes on to the caller either way.
            self.audit_after_transaction = waiting + self.audit_after_transaction
            logger.exception("Refusal audit events could not be appended yet (%d kept)", len(waiting))
