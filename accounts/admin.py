from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import EnrolmentCode


@admin.register(EnrolmentCode)
class EnrolmentCodeAdmin(ReadOnlyAdmin):
    """Read-only: codes are issued and used through `accounts.services`; the hash is not shown."""

    list_display = ("created_at", "user", "channel", "issued_by", "expires_at", "used_at", "voided_at",
                    "failed_attempts")
    list_filter = ("channel",)
    list_select_related = ("user", "issued_by")
    exclude = ("code_hash",)
