"""Read-only admin views of the connectors. Targets and mappings are configured on the Connectors pages
(so secrets are sealed, settings validated and changes audited); effects and drift are written by the
relay and by reconciliation."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Drift, Effect, Mapping, Target


@admin.register(Target)
class TargetAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "enabled", "status", "status_at", "reconciled_at")
    exclude = ("secret_sealed",)


@admin.register(Mapping)
class MappingAdmin(ReadOnlyAdmin):
    list_display = ("target", "role", "scope", "grant", "enabled")
    list_select_related = ("target", "role", "scope")


@admin.register(Effect)
class EffectAdmin(ReadOnlyAdmin):
    list_display = ("queued_at", "target", "principal", "action", "status", "attempts", "applied_at")
    list_filter = ("status", "action")
    list_select_related = ("target", "principal")


@admin.register(Drift)
class DriftAdmin(ReadOnlyAdmin):
    list_display = ("first_seen_at", "target", "account", "kind", "status")
    list_filter = ("status", "kind")
    list_select_related = ("target",)
