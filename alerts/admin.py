"""Read-only admin pages: alert settings, incidents and runs change only through `alerts.services`
(validated and audited), never directly."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import AlertRun, AlertSetting, Incident


@admin.register(AlertSetting)
class AlertSettingAdmin(ReadOnlyAdmin):
    list_display = ("key", "enabled", "thresholds", "updated_at", "updated_by")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    list_display = ("first_seen_at", "alert_key", "severity", "status", "title")
    list_filter = ("alert_key", "severity", "status")
    search_fields = ("title", "subject_key")


@admin.register(AlertRun)
class AlertRunAdmin(ReadOnlyAdmin):
    list_display = ("ran_at", "alert_key", "trigger", "findings", "opened", "cleared", "ran_by")
    list_filter = ("alert_key", "trigger")
