"""Django admin for the directory and assignments.

Assignments created or edited here bypass the request pipeline; they are recorded as made
outside PIM (origin "outside") with an audit event, which the security alerts then surface.
Deleting assignments here is not allowed: remove them through PIM so the rules apply.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction

from portal.admin import ReadOnlyAdmin

from . import services
from .models import (
    Assignment,
    ElevatedAccess,
    Principal,
    RoleDefinition,
    RolePermission,
    RoleSetting,
    Scope,
    ScopeClosure,
    User,
)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "display_name", "email", "is_active", "is_emergency_access", "last_login")
    fieldsets = BaseUserAdmin.fieldsets + (("PIM", {"fields": ("display_name", "is_emergency_access")}),)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            if not change:
                Principal.objects.get_or_create(
                    user=obj, defaults={"kind": Principal.Kind.USER, "display_name": obj.display_name or obj.username,
                                        "email": obj.email})
            Principal.objects.filter(user=obj).update(enabled=obj.is_active)


@admin.register(Principal)
class PrincipalAdmin(admin.ModelAdmin):
    list_display = ("display_name", "kind", "email", "enabled", "role_assignable")
    list_filter = ("kind", "enabled", "role_assignable")
    search_fields = ("display_name", "email")
    readonly_fields = ("object_id", "role_assignable", "app_id", "user", "created_at")

    def has_add_permission(self, request):
        return False  # created through the services (users, groups, service principals)


@admin.register(Scope)
class ScopeAdmin(admin.ModelAdmin):
    list_display = ("path", "kind", "display_name")
    list_filter = ("kind",)
    search_fields = ("path", "display_name")
    readonly_fields = ("path", "kind", "parent", "group", "created_at")

    def has_add_permission(self, request):
        return False  # closure rows must be written by scope_create


class RolePermissionInline(admin.TabularInline):
    model = RolePermission
    readonly_fields = ("pattern", "like_pattern", "is_not_action")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(RoleDefinition)
class RoleDefinitionAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_privileged", "is_builtin")
    list_filter = ("kind", "is_privileged", "is_builtin")
    search_fields = ("name", "slug")
    inlines = [RolePermissionInline]
    readonly_fields = ("slug", "kind", "is_builtin")


@admin.register(RoleSetting)
class RoleSettingAdmin(admin.ModelAdmin):
    list_display = ("role", "scope", "max_activation_minutes", "require_mfa_on_activation", "require_approval")
    list_filter = ("require_approval", "require_mfa_on_activation")
    filter_horizontal = ("approvers",)


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ("principal", "role", "scope", "kind", "status", "start_at", "end_at", "origin")
    list_filter = ("kind", "status", "origin", "role__kind")
    search_fields = ("principal__display_name", "role__name", "scope__path")
    raw_id_fields = ("principal", "role", "scope", "activated_from", "created_by")
    readonly_fields = ("origin", "ended_at", "end_reason", "reminded_14d_at", "reminded_1d_at")

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        with transaction.atomic():
            before = None
            if change:
                before = services.assignment_snapshot(Assignment.objects.get(pk=obj.pk))
            else:
                obj.created_at = obj.created_at or timezone.now()
                obj.created_by = request.user
            super().save_model(request, obj, form, change)
            services.assignment_record_outside_pim(actor=request.user, assignment=obj, before=before)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ElevatedAccess)
class ElevatedAccessAdmin(admin.ModelAdmin):
    list_display = ("user", "assignment", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(ScopeClosure)
class ScopeClosureAdmin(ReadOnlyAdmin):
    """Read-only view of the scope tree's closure rows (written by scope_create / scope_move only)."""

    list_display = ("ancestor", "descendant", "depth")
    list_select_related = ("ancestor", "descendant")



@admin.register(RolePermission)
class RolePermissionAdmin(ScopeClosureAdmin):
    """Read-only: permissions are created with their role."""

    list_display = ("role", "pattern", "is_not_action")
    list_select_related = ("role",)
    list_filter = ("is_not_action",)
    search_fields = ("pattern", "role__name")
