from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Heartbeat, SiemStream


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "at", "sent_at", "hostname", "pid")


@admin.register(SiemStream)
class SiemStreamAdmin(ReadOnlyAdmin):
    list_display = ("name", "destination", "last_seq", "last_checkpoint_id", "events_sent", "delivered_at",
                    "failing_since", "last_error")
