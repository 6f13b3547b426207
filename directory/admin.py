from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ImportUpload


@admin.register(ImportUpload)
class ImportUploadAdmin(ReadOnlyAdmin):
    list_display = ["filename", "format", "uploaded_by", "created_at", "applied_at"]
    exclude = ["data"]  # the file itself: downloaded by nobody from here
    readonly_fields = ["filename", "format", "uploaded_by", "sha256", "created_at", "applied_at", "report"]
