"""Read-only admin views of the directory intake. SCIM clients and their tokens are managed on the
Directory pages (tokens shown once, stored hashed, changes audited); resources are written by the SCIM
endpoint."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ScimClient, ScimResource, ScimToken


@admin.register(ScimClient)
class ScimClientAdmin(ReadOnlyAdmin):
    list_display = ("name", "created_at", "created_by")


@admin.register(ScimToken)
class ScimTokenAdmin(ReadOnlyAdmin):
    list_display = ("client", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    exclude = ("secret_hash",)
    list_select_related = ("client",)


@admin.register(ScimResource)
class ScimResourceAdmin(ReadOnlyAdmin):
    list_display = ("client", "principal", "version", "updated_at")
    list_select_related = ("client", "principal")
