"""Nothing to administer here: webhooks and SCIM groups are connector targets (connectors.admin)."""
