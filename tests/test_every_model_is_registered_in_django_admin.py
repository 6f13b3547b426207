from django.apps import apps
from django.contrib import admin

PORTAL_APPS = {"assignments", "approvals", "audit", "accounts", "notifications", "provisioning", "reviews", "alerts",
               "api", "directory", "connectors", "operations", "policy", "governance", "selfservice"}


def test_every_portal_model_has_an_admin():
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in PORTAL_APPS and not model._meta.auto_created and not admin.site.is_registered(model)
    ]
    assert missing == [], f"Register these models in their app's admin.py: {missing}"


def test_every_admin_changelist_opens(directory, global_admin, client):
    """For whom the admin admits: an active Global Administrator with a fresh MFA verification."""
    from django.urls import reverse
    from django.utils import timezone

    from core.mfa import SESSION_KEY

    client.force_login(global_admin)
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    for model in admin.site._registry:
        if model._meta.app_label not in PORTAL_APPS:
            continue
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        assert client.get(url).status_code == 200, url
