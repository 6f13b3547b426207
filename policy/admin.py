"""Read-only admin pages: versions, dual control and proposals change only through `policy.services`
(and the owners' services), never directly; so the admin cannot bypass dual control."""

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import ConfigVersion, DualControl, Proposal


@admin.register(ConfigVersion)
class ConfigVersionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "key", "number", "source", "actor_label")
    list_filter = ("kind", "source")
    search_fields = ("key",)


@admin.register(DualControl)
class DualControlAdmin(ReadOnlyAdmin):
    list_display = ("scope", "created_by", "created_at")


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "title", "status", "created_by", "decided_by", "decided_at")
    list_filter = ("status",)
