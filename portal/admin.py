"""Shared Django-admin base classes for the portal's apps."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For models whose writes belong to a service (audit log, requests, outbox, tokens, …): the admin
    shows them but never adds, changes or deletes, so no write can bypass the rules and the audit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
