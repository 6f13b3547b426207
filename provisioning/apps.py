from django.apps import AppConfig

from core import domain_events


class ProvisioningConfig(AppConfig):
    name = "provisioning"
    verbose_name = "Webhooks and SCIM provisioning"

    def ready(self):
        # Here, not at the top: the outbox loads its models, which only exist once every app is loaded.
        from notifications.outbox import register_channel

        from . import scim, webhooks
        from .services import provisioning_on_domain_event, provisioning_on_domain_events_many

        register_channel(webhooks.CHANNEL, webhooks.deliver_webhook)
        register_channel(scim.CHANNEL, scim.deliver_scim)
        domain_events.subscribe(provisioning_on_domain_event, many=provisioning_on_domain_events_many)
