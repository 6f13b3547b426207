from django.apps import AppConfig
from django.db.backends.signals import connection_created

# psycopg prepares a statement only when the connection's `prepare_threshold` is not None, even when
# the statement asks for it (`execute(..., prepare=True)`); Django opens connections with None. The
# access check (`assignments.access._fetch_one`) asks for preparation because planning is most of its
# cost (≈2 ms planning vs ≈0.2 ms execution at 1 M assignments), so without this it is re-planned on
# every check. A threshold no statement reaches keeps automatic preparation off for everything else.
# (Belongs with the access check or the database settings; kept here, additive, until it moves there.)
EXPLICIT_PREPARE_ONLY = 2**31 - 1


def allow_explicitly_prepared_statements(sender, connection, **kwargs):
    raw = getattr(connection, "connection", None)
    if connection.vendor == "postgresql" and raw is not None and getattr(raw, "prepare_threshold", 0) is None:
        raw.prepare_threshold = EXPLICIT_PREPARE_ONLY


class ApiConfig(AppConfig):
    name = "api"

    def ready(self):
        connection_created.connect(allow_explicitly_prepared_statements, dispatch_uid="api.prepare_threshold")
