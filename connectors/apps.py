from django.apps import AppConfig

from core import domain_events


class ConnectorsConfig(AppConfig):
    """Grants out and read back: each transition's grant or revoke in a target system (LDAP groups,
    PostgreSQL roles, SCIM groups) and each signed webhook delivery of an event, applied exactly once
    through the outbox, and reconciliation of what the target holds against the access check."""

    name = "connectors"
    verbose_name = "Connectors"

    def ready(self):
        # Here, not at the top: the outbox loads its models, which only exist once every app is loaded.
        from alerts.definitions import findings_source_register, incident_panel_register
        from notifications.outbox import register_channel

        from . import effects, reconcile, selectors, webhooks

        register_channel(effects.CHANNEL, effects.deliver_effect, deliver_batch=effects.deliver_effects)
        domain_events.subscribe(effects.connectors_on_domain_event, many=effects.connectors_on_domain_events_many)
        domain_events.subscribe(webhooks.webhooks_on_domain_event, many=webhooks.webhooks_on_domain_events_many)
        findings_source_register("roles_assigned_outside_pim", reconcile.findings_outside_pim)
        findings_source_register("connector_drift", reconcile.findings_drift)
        findings_source_register("connector_effects_overdue", reconcile.findings_overdue)
        for key in ("connector_drift", "roles_assigned_outside_pim"):
            incident_panel_register(key, selectors.incident_drift_panel)
