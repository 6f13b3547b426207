"""Read-only admin pages: conflict sets and exceptions change only through `governance.services`
(validated, step-up, audited), never directly."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ConflictException, ConflictSet, RightsizingSetting


@admin.register(ConflictSet)
class ConflictSetAdmin(ReadOnlyAdmin):
    list_display = ("name", "mode", "enabled", "updated_at")
    list_filter = ("mode", "enabled")


@admin.register(ConflictException)
class ConflictExceptionAdmin(ReadOnlyAdmin):
    list_display = ("principal", "conflict_set", "end_at", "revoked_at", "created_by")


@admin.register(RightsizingSetting)
class RightsizingSettingAdmin(ReadOnlyAdmin):
    list_display = ("key", "days", "factor", "min_samples", "updated_at", "updated_by")
