"""Database backends of the project: Django's PostgreSQL and SQLite backends, with the audit chain's
commit-time append (`mixin.AuditChainMixin`). Set as ENGINE in pim_portal/settings.py."""
