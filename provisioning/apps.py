from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    """What outbound integrations share: the outbound address policy and pinned transport, secrets
    sealed at rest, and the SCIM 2.0 client protocol. (SCIM groups and signed webhooks are connector
    kinds: `connectors.kinds`.)"""

    name = "provisioning"
    verbose_name = "Outbound integrations"
