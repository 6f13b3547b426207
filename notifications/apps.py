from django.apps import AppConfig

from core import domain_events


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and jobs"

    def ready(self):
        from .email import CHANNEL, deliver_email, deliver_email_batch
        from .events import on_domain_event, on_domain_events_many
        from .outbox import register_channel

        register_channel(CHANNEL, deliver_email, deliver_batch=deliver_email_batch)
        domain_events.subscribe(on_domain_event, many=on_domain_events_many)
