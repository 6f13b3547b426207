"""Input shapes of the connectors' pages: built from each connector type's fields. Rules (what a valid
configuration or grant is) live in the types and the services; these forms only shape input."""

from django import forms

from assignments.models import RoleDefinition, Scope
from core.forms import change_reason_field

from .kinds import KINDS


def _field(spec):
    if spec.kind == "bool":
        return forms.BooleanField(label=spec.label, help_text=spec.help, required=False, initial=spec.default)
    if spec.kind == "int":
        return forms.IntegerField(label=spec.label, help_text=spec.help, required=spec.required,
                                  initial=spec.default)
    if spec.kind == "list" and spec.choices:
        return forms.MultipleChoiceField(label=spec.label, help_text=spec.help, required=spec.required,
                                         choices=[(choice, choice) for choice in spec.choices],
                                         widget=forms.CheckboxSelectMultiple,
                                         error_messages={"required": f"{spec.label}: choose at least one."})
    if spec.kind == "list":
        return forms.CharField(label=spec.label, help_text=spec.help, required=spec.required,
                               widget=forms.Textarea(attrs={"rows": 3}))
    return forms.CharField(label=spec.label, help_text=spec.help, required=spec.required, initial=spec.default,
                           max_length=500)


class TargetForm(forms.Form):
    """Name, the type's settings, its secret (write-only) and enabled."""

    name = forms.CharField(max_length=100)

    def __init__(self, *args, kind: str, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = KINDS[kind]
        for spec in self.kind.fields:
            self.fields[f"config_{spec.name}"] = _field(spec)
        self.fields["secret"] = forms.CharField(
            label=self.kind.secret_label, required=False, strip=False,
            widget=forms.PasswordInput(render_value=False),
            help_text=("Stored encrypted and never shown again. Leave empty to keep the stored one."
                       if editing else "Stored encrypted and never shown again."
                       + ("" if self.kind.has_holders else " Leave empty to have one generated (shown once).")))
        self.fields["enabled"] = forms.BooleanField(required=False, initial=True)
        self.editing = editing

    def config(self) -> dict:
        config = {}
        for spec in self.kind.fields:
            value = self.cleaned_data.get(f"config_{spec.name}")
            config[spec.name] = value.splitlines() if spec.kind == "list" and isinstance(value, str) else value
        return config

    @staticmethod
    def initial_for(target) -> dict:
        initial = {"name": target.name, "enabled": target.enabled}
        choices = {spec.name for spec in KINDS[target.kind].fields if spec.choices} if target.kind in KINDS else set()
        for key, value in (target.config or {}).items():
            initial[f"config_{key}"] = "\n".join(value) if isinstance(value, list) and key not in choices else value
        return initial


class MappingForm(forms.Form):
    role = forms.ModelChoiceField(queryset=RoleDefinition.objects.order_by("kind", "name"), empty_label=None)
    scope = forms.CharField(label="Scope", max_length=512,
                            help_text="A scope path: /subscriptions/s1/…/databases/x, or /groups/<id> for a group's "
                                      "Member or Owner role.")
    grant = forms.CharField(max_length=500)

    def __init__(self, *args, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = KINDS[kind]
        self.fields["grant"].label = self.kind.grant_label
        self.fields["grant"].help_text = self.kind.grant_help
        for spec in self.kind.option_fields:
            self.fields[f"option_{spec.name}"] = _field(spec)
        self.fields["reason"] = change_reason_field()  # last: why, after what

    def clean_scope(self):
        path = self.cleaned_data["scope"].strip()
        scope = Scope.objects.filter(path=path).first()
        if scope is None:
            raise forms.ValidationError(f"No scope {path}.")
        return scope

    def options(self) -> dict:
        return {spec.name: self.cleaned_data.get(f"option_{spec.name}") for spec in self.kind.option_fields}


class MappingEditForm(MappingForm):
    """An existing mapping's fields (prefixed by its id: one form per mapping on the target's page) and why
    (the reason field is `MappingForm`'s)."""

    def __init__(self, *args, mapping, **kwargs):
        initial = {"role": mapping.role_id, "scope": mapping.scope.path, "grant": mapping.grant,
                   **{f"option_{name}": value for name, value in (mapping.options or {}).items()}}
        super().__init__(*args, kind=mapping.target.kind, prefix=f"mapping-{mapping.pk}", initial=initial, **kwargs)
        self.mapping = mapping


class JustificationForm(forms.Form):
    justification = forms.CharField(max_length=500)
