"""Shared Django-admin base classes for the portal's apps.

The Django admin is a read-only data browser (see `portal.admin_site`): every write belongs to a
service, which checks the rules and records the audit event. `PimAdminSite` makes every registered
admin read-only, whatever its class; `ReadOnlyAdmin` says so explicitly in the apps' admin modules.
"""

from django.contrib import admin


class ReadOnlyMixin:
    """Viewing is allowed to whoever the admin site admits; adding, changing, deleting and bulk
    actions to nobody, superusers included (Django's own checks would let a superuser do anything)."""

    def has_view_permission(self, request, obj=None):
        return self.admin_site.has_permission(request)

    def has_module_permission(self, request):
        return self.admin_site.has_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}


class ReadOnlyAdmin(ReadOnlyMixin, admin.ModelAdmin):
    """For models whose writes belong to a service (audit log, requests, outbox, tokens, …): the admin
    shows them but never adds, changes or deletes, so no write can bypass the rules and the audit."""


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    """An inline that only shows the related rows."""

    extra = 0
    can_delete = False
