from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running the portal in production: Prometheus metrics, liveness and readiness probes, the worker
    and beat heartbeats, structured logs, and the audit stream to SIEMs. It reads every other app and
    no app imports it (the top of the layers, below `pim_portal`)."""

    name = "operations"
    verbose_name = "Operations"

    def ready(self):
        from . import checks, heartbeat  # noqa: F401  (registers the system checks; connects the beat's publish hook)
