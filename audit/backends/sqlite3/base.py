"""SQLite, appending each transaction's audit events at its commit (see `audit.backends.mixin`)."""

from django.db.backends.sqlite3 import base

from ..mixin import AuditChainMixin


class DatabaseWrapper(AuditChainMixin, base.DatabaseWrapper):
    pass
