from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal pages"

    def ready(self):
        from . import checks  # noqa: F401  (registers the project's deploy checks)
