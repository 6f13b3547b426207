"""Read-only Django admin for the directory and assignments.

Users, principals, scopes, roles, role settings, assignments and elevations change only through
`assignments.services` (the portal's pages and the API), which apply the rules and write the audit
event; the admin is a data browser for Global Administrators (see `portal.admin_site`).
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from core.admin import ReadOnlyAdmin, ReadOnlyInline, ReadOnlyMixin

from .models import (
    ApprovalStage,
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
class UserAdmin(ReadOnlyMixin, BaseUserAdmin):
    """Users are created, enabled and disabled on the Directory pages (audited)."""

    list_display = ("username", "display_name", "email", "is_active", "is_emergency_access", "last_login")
    fieldsets = BaseUserAdmin.fieldsets + (("PIM", {"fields": ("display_name", "is_emergency_access")}),)


@admin.register(Principal)
class PrincipalAdmin(ReadOnlyAdmin):
    list_display = ("display_name", "kind", "email", "enabled", "role_assignable")
    list_filter = ("kind", "enabled", "role_assignable")
    search_fields = ("display_name", "email")


@admin.register(Scope)
class ScopeAdmin(ReadOnlyAdmin):
    list_display = ("path", "kind", "display_name")
    list_filter = ("kind",)
    search_fields = ("path", "display_name")


class RolePermissionInline(ReadOnlyInline):
    model = RolePermission


@admin.register(RoleDefinition)
class RoleDefinitionAdmin(ReadOnlyAdmin):
    list_display = ("name", "kind", "is_privileged", "is_builtin")
    list_filter = ("kind", "is_privileged", "is_builtin")
    search_fields = ("name", "slug")
    inlines = [RolePermissionInline]


@admin.register(RoleSetting)
class RoleSettingAdmin(ReadOnlyAdmin):
    """Policies change on the Role settings pages (validated, audited, MFA step-up where it applies)."""

    list_display = ("role", "scope", "max_activation_minutes", "require_mfa_on_activation", "require_approval")
    list_filter = ("require_approval", "require_mfa_on_activation")
    list_select_related = ("role", "scope")


@admin.register(Assignment)
class AssignmentAdmin(ReadOnlyAdmin):
    """Assignments change only through the request pipeline and the assignment services."""

    list_display = ("principal", "role", "scope", "kind", "status", "start_at", "end_at", "origin")
    list_filter = ("kind", "status", "origin", "role__kind")
    search_fields = ("principal__display_name", "role__name", "scope__path")
    list_select_related = ("principal", "role", "scope")
    raw_id_fields = ("principal", "role", "scope", "activated_from", "created_by")


@admin.register(ElevatedAccess)
class ElevatedAccessAdmin(ReadOnlyAdmin):
    list_display = ("user", "assignment", "created_at")


@admin.register(ScopeClosure)
class ScopeClosureAdmin(ReadOnlyAdmin):
    """Read-only view of the scope tree's closure rows (written by scope_create / scope_move only)."""

    list_display = ("ancestor", "descendant", "depth")
    list_select_related = ("ancestor", "descendant")


@admin.register(RolePermission)
class RolePermissionAdmin(ReadOnlyAdmin):
    """Read-only: permissions are created with their role."""

    list_display = ("role", "pattern", "is_not_action")
    list_select_related = ("role",)
    list_filter = ("is_not_action",)
    search_fields = ("pattern", "role__name")


@admin.register(ApprovalStage)
class ApprovalStageAdmin(ReadOnlyAdmin):
    """Read-only: stages are set on the role setting's Approval stages page or the API (audited)."""

    list_display = ("setting", "position", "name", "approvals_required", "timeout_minutes", "escalate_on_timeout")
    list_select_related = ("setting__role", "setting__scope")
