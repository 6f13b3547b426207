"""Input and output shapes of the directory administration endpoints (users, scopes, custom roles, bulk
import and export). Shape only: every rule lives in the services."""

from rest_framework import serializers

from assignments.models import RoleDefinition, Scope, User
from directory.bulk_import import MAX_BYTES

from .serializers import ScopeField


class UserSerializer(serializers.ModelSerializer):
    principal = serializers.IntegerField(source="principal.pk", read_only=True)
    enabled = serializers.BooleanField(source="is_active", read_only=True)
    sso_only = serializers.SerializerMethodField(help_text="No password: signs in through single sign-on only.")

    class Meta:
        model = User
        fields = ["id", "username", "display_name", "email", "time_zone", "enabled", "principal", "sso_only"]

    def get_sso_only(self, obj) -> bool:
        return not obj.has_usable_password()


class UserCreateSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254, default="")
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    password = serializers.CharField(required=False, allow_blank=True, write_only=True, max_length=256,
                                     trim_whitespace=False, default="",
                                     help_text="Empty or absent: the account signs in through single sign-on only.")


class UserUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(required=False, max_length=200)
    email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64)
    enabled = serializers.BooleanField(
        required=False, help_text="false disables the user and ends every assignment they hold (offboarding).")
    justification = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class UserUpdateResultSerializer(UserSerializer):
    changed = serializers.BooleanField(read_only=True)
    ended_assignments = serializers.IntegerField(read_only=True)

    class Meta(UserSerializer.Meta):
        fields = UserSerializer.Meta.fields + ["changed", "ended_assignments"]


ADDABLE_KINDS = [k for k in Scope.Kind.values if k not in (Scope.Kind.DIRECTORY, Scope.Kind.GROUP)]


class ScopeCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ADDABLE_KINDS)
    parent = ScopeField(help_text="The parent's path or id ('/' for the root).")
    name = serializers.CharField(max_length=200, help_text="The last part of the id (a resource: type and name, "
                                                           "Microsoft.Compute/virtualMachines/vm1).")
    display_name = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class ScopeUpdateSerializer(serializers.Serializer):
    display_name = serializers.CharField(required=False, max_length=200)
    parent = ScopeField(required=False, help_text="Move under this scope (management groups and subscriptions).")


class ScopeDetailSerializer(serializers.ModelSerializer):
    parent_path = serializers.CharField(source="parent.path", read_only=True, allow_null=True, default=None)

    class Meta:
        model = Scope
        fields = ["id", "path", "kind", "display_name", "parent", "parent_path", "group"]


class RoleDetailSerializer(serializers.ModelSerializer):
    actions = serializers.SerializerMethodField()
    not_actions = serializers.SerializerMethodField()

    class Meta:
        model = RoleDefinition
        fields = ["id", "slug", "name", "kind", "description", "is_builtin", "is_privileged", "actions",
                  "not_actions"]

    def get_actions(self, obj) -> list[str]:
        return [p.pattern for p in obj.permissions.all() if not p.is_not_action]

    def get_not_actions(self, obj) -> list[str]:
        return [p.pattern for p in obj.permissions.all() if p.is_not_action]


_PATTERNS = serializers.ListField(child=serializers.CharField(max_length=300), max_length=500)


class RoleCreateSerializer(serializers.Serializer):
    slug = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=[RoleDefinition.Kind.DIRECTORY, RoleDefinition.Kind.RESOURCE])
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000, default="")
    actions = serializers.ListField(child=serializers.CharField(max_length=300), max_length=500)
    not_actions = serializers.ListField(child=serializers.CharField(max_length=300), max_length=500, required=False,
                                        default=list)
    is_privileged = serializers.BooleanField(required=False, default=False)


class RoleUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(required=False, max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    actions = serializers.ListField(child=serializers.CharField(max_length=300), max_length=500, required=False)
    not_actions = serializers.ListField(child=serializers.CharField(max_length=300), max_length=500, required=False)
    is_privileged = serializers.BooleanField(required=False)


class ImportRequestSerializer(serializers.Serializer):
    content = serializers.CharField(max_length=MAX_BYTES, trim_whitespace=False,
                                    help_text="The file's text: CSV or JSON in the bulk import's format (README).")
    format = serializers.ChoiceField(choices=["csv", "json"], required=False, allow_blank=True, default="",
                                     help_text="Default: from the filename, else from the first character.")
    filename = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")
    dry_run = serializers.BooleanField(required=False, default=True,
                                       help_text="true (default): report only, nothing written.")


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    where = serializers.CharField()
    record = serializers.CharField()
    column = serializers.CharField(allow_null=True)
    message = serializers.CharField()


class ImportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    where = serializers.CharField()
    record = serializers.CharField()
    key = serializers.CharField()
    result = serializers.ChoiceField(choices=["created", "changed", "unchanged"])


class ImportReportSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    summary = serializers.CharField()
    created = serializers.IntegerField()
    changed = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)
    rows = ImportRowSerializer(many=True)


class ExportQuerySerializer(serializers.Serializer):
    format = serializers.ChoiceField(choices=["json", "csv"], required=False, default="json")


class GroupCreateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=200)
    role_assignable = serializers.BooleanField(default=False, help_text="May hold directory roles; fixed at creation.")
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class ServicePrincipalCreateSerializer(serializers.Serializer):
    display_name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000, default="")
