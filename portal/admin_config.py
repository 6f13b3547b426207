"""Installed instead of `django.contrib.admin` (see INSTALLED_APPS): the same app, whose `admin.site`
is the portal's read-only, access-checked `PimAdminSite`. Kept apart from `admin_site` because app
configs are imported before the models are ready."""

from django.contrib.admin.apps import AdminConfig


class PimAdminConfig(AdminConfig):
    default_site = "portal.admin_site.PimAdminSite"
