"""Moving the test database to a migration state and back (the data migrations' tests)."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor


def migrate_to(targets):
    """Migrate to `targets` ([(app, migration name)]); the apps (historical models) of that state."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def latest():
    """The leaf migrations: where to migrate back to afterwards."""
    return MigrationExecutor(connection).loader.graph.leaf_nodes()
