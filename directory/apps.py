from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    """Intake: users, groups and memberships arriving from the organisation's directory (SCIM 2.0
    pushed in, LDAP / Active Directory pulled, OIDC sign-in), and bulk import of scopes and roles."""

    name = "directory"
    verbose_name = "Directory intake"
