from django.apps import AppConfig

from core import domain_events


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Webhooks"

    def ready(self):
        # Here, not at the top: the outbox loads its models, which only exist once every app is loaded.
        from notifications.outbox import register_channel

        from . import webhooks
        from .services import provisioning_on_domain_event, provisioning_on_domain_events_many

        register_channel(webhooks.CHANNEL, webhooks.deliver_webhook)
        domain_events.subscribe(provisioning_on_domain_event, many=provisioning_on_domain_events_many)
