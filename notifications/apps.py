from django.apps import AppConfig

from core import domain_events


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and jobs"

    def ready(self):
        from .email import CHANNEL, deliver_email
        from .events import on_domain_event, on_domain_events_many
        from .outbox import register_channel

        register_channel(CHANNEL, deliver_email)
        domain_events.subscribe(on_domain_event, many=on_domain_events_many)
