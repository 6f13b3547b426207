"""Read-only admin views of the directory intake. SCIM clients and their tokens are managed on the
Directory pages (tokens shown once, stored hashed, changes audited); resources are written by the SCIM
endpoint; import uploads by the bulk import pages."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import (
    DirectoryLdifUpload,
    DirectorySource,
    DirectorySourceEntry,
    DirectorySyncRun,
    ImportUpload,
    ScimClient,
    ScimResource,
    ScimToken,
)


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


@admin.register(DirectorySource)
class DirectorySourceAdmin(ReadOnlyAdmin):
    list_display = ("name", "preset", "url", "enabled", "last_full_at", "last_incremental_at")
    exclude = ("bind_password_sealed",)  # sealed, and never shown


@admin.register(DirectorySyncRun)
class DirectorySyncRunAdmin(ReadOnlyAdmin):
    list_display = ("source", "kind", "status", "started_at", "users_read", "users_created", "users_disabled")
    list_select_related = ("source",)


@admin.register(DirectorySourceEntry)
class DirectorySourceEntryAdmin(ReadOnlyAdmin):
    list_display = ("source", "dn", "kind", "principal")
    list_select_related = ("source", "principal")


@admin.register(DirectoryLdifUpload)
class DirectoryLdifUploadAdmin(ReadOnlyAdmin):
    list_display = ("source", "name", "size", "uploaded_by", "created_at")
    exclude = ("data",)  # the file itself: read by the import job only
