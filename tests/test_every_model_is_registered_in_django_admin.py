from django.apps import apps
from django.contrib import admin

PORTAL_APPS = {"assignments", "approvals", "audit", "accounts", "notifications", "provisioning", "reviews", "alerts",
               "api"}


def test_every_portal_model_has_an_admin():
    missing = [
        model._meta.label
        for model in apps.get_models()
        if model._meta.app_label in PORTAL_APPS and not model._meta.auto_created and not admin.site.is_registered(model)
    ]
    assert missing == [], f"Register these models in their app's admin.py: {missing}"
