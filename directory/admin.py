"""Read-only admin views of the directory intake. SCIM clients and their tokens are managed on the
Directory pages (tokens shown once, stored hashed, changes audited); resources are written by the SCIM
endpoint; import uploads by the bulk import pages."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ImportUpload, ScimClient, ScimResource, ScimToken


@admin.register(ImportUpload)
class ImportUploadAdmin(ReadOnlyAdmin):
    list_display = ["filename", "format", "uploaded_by", "created_at", "applied_at"]
    exclude = ["data"]  # the file itself: downloaded by nobody from here
    readonly_fields = ["filename", "format", "uploaded_by", "sha256", "created_at", "applied_at", "report"]


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
