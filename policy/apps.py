from django.apps import AppConfig


class PolicyConfig(AppConfig):
    """Policy as code: version history, dual control and YAML export/import of the configuration."""

    name = "policy"
    verbose_name = "Policy as code"

    def ready(self):
        # Here: the kinds name other apps' models and services, loaded once every app is.
        from core import config_changes

        from . import kinds, versioning

        kinds.register_builtin_kinds()
        config_changes.install(versioning.HANDLER)
