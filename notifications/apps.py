from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and jobs"

    def ready(self):
        from .email import CHANNEL, deliver_email
        from .outbox import register_channel

        register_channel(CHANNEL, deliver_email)
