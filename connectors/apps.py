from django.apps import AppConfig


class ConnectorsConfig(AppConfig):
    """Grants out and read back: each transition's grant or revoke in a target system (LDAP groups,
    PostgreSQL roles, SCIM groups, webhooks), applied exactly once through the outbox, and
    reconciliation of what the target holds against the access check."""

    name = "connectors"
    verbose_name = "Connectors"
