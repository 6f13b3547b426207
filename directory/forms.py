"""Forms of the directory administration pages: shapes only, every rule is in the services."""

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from assignments.models import RoleDefinition, Scope
from core.timezones import time_zone_names

from .bulk_import import MAX_BYTES


def _time_zone_choices():
    return [("", "Not set (the browser's zone)")] + [(name, name.replace("_", " ")) for name in time_zone_names()]


class UserEditForm(forms.Form):
    display_name = forms.CharField(max_length=200, label="Display name")
    email = forms.EmailField(required=False, max_length=254)
    time_zone = forms.ChoiceField(required=False, label="Time zone", choices=[])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = _time_zone_choices()


class UserCreateForm(UserEditForm):
    username = forms.CharField(max_length=150, help_text="The sign-in name; it cannot change later.")
    password = forms.CharField(
        required=False, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Leave empty for an account that signs in only through single sign-on (or sets its password "
                  "through the reset link).")

    field_order = ["username", "display_name", "email", "time_zone", "password"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["display_name"].required = False

    def clean_password(self):
        password = self.cleaned_data.get("password") or ""
        if password:
            try:
                validate_password(password)
            except ValidationError as error:
                raise forms.ValidationError(error.messages)
        return password


class JustificationForm(forms.Form):
    justification = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text="Why (kept in the audit log).")


ADDABLE_SCOPE_KINDS = [(k, label) for k, label in Scope.Kind.choices
                       if k not in (Scope.Kind.DIRECTORY, Scope.Kind.GROUP)]


class ScopeCreateForm(forms.Form):
    kind = forms.ChoiceField(choices=ADDABLE_SCOPE_KINDS)
    parent = forms.CharField(max_length=512, initial="/", label="Parent scope",
                             help_text="The parent's id: / for the root, a management group, a subscription "
                                       "(for a resource group) or a resource group (for a resource).")
    name = forms.CharField(max_length=200, label="Id",
                           help_text="The last part of the scope's id: sub-prod-01, rg-web; for a resource its "
                                     "provider, type and name: Microsoft.Compute/virtualMachines/vm1.")
    display_name = forms.CharField(max_length=200, required=False, label="Display name")


class ScopeRenameForm(forms.Form):
    display_name = forms.CharField(max_length=200, label="Display name")


class ScopeMoveForm(forms.Form):
    new_parent = forms.CharField(max_length=512, label="New parent scope",
                                 help_text="/ or a management group's id.")


def _patterns(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class RoleForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(max_length=100, required=False, label="Id",
                           help_text="Letters, digits and dashes; from the name when empty. Fixed once created.")
    kind = forms.ChoiceField(choices=[(RoleDefinition.Kind.DIRECTORY, "Directory role"),
                                      (RoleDefinition.Kind.RESOURCE, "Resource role")])
    description = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    actions = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=20000,
                              help_text="One pattern per line; * matches anything: microsoft.directory/users/*.")
    not_actions = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=20000,
                                  label="Not actions",
                                  help_text="Patterns removed from what the actions allow, one per line.")
    is_privileged = forms.BooleanField(required=False, label="Privileged",
                                       help_text="Assigning or activating it asks for a fresh MFA verification "
                                                 "and it is flagged in lists and alerts.")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("slug", "kind"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def clean(self):
        data = super().clean()
        data["actions"] = _patterns(data.get("actions", ""))
        data["not_actions"] = _patterns(data.get("not_actions", ""))
        return data


class ImportForm(forms.Form):
    file = forms.FileField(help_text=f"CSV or JSON, UTF-8, at most {MAX_BYTES // (1024 * 1024)} MB. Nothing is "
                                     f"written until you apply the dry run's result.")
    format = forms.ChoiceField(required=False, choices=[("", "From the file name"), ("csv", "CSV"), ("json", "JSON")])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it.")
        return upload
