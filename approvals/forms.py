"""Input shapes of the self-service pages. Business rules stay in `approvals.services`; these only
parse and bound what a browser can send."""

from django import forms

from assignments.models import Scope
from core.timezones import zone_label

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class ActivateForm(forms.Form):
    scope = forms.ModelChoiceField(queryset=Scope.objects.none(), empty_label=None,
                                   help_text="Where you need the role: where you are eligible, or narrower.")
    duration_minutes = forms.IntegerField(label="Duration (minutes)", min_value=1)
    start_at = forms.DateTimeField(label=zone_label("Start"), required=False, input_formats=DATETIME_FORMATS,
                                   widget=DATETIME_INPUT, help_text="Leave empty to start now (or on approval).")
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    ticket_system = forms.CharField(required=False, max_length=100)
    ticket_number = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, eligible, setting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scope"].queryset = (
            Scope.objects.filter(ancestor_links__ancestor=eligible.scope).order_by("ancestor_links__depth", "path")
        )
        self.fields["scope"].initial = eligible.scope_id
        self.fields["scope"].label_from_instance = lambda s: f"{s.path} ({s.display_name})"
        self.fields["duration_minutes"].max_value = setting.max_activation_minutes
        self.fields["duration_minutes"].widget.attrs.update({"max": setting.max_activation_minutes, "min": 5,
                                                            "step": 5})
        self.fields["duration_minutes"].initial = min(60, setting.max_activation_minutes)
        self.fields["justification"].required = setting.require_justification_on_activation
        self.fields["ticket_system"].required = setting.require_ticket_on_activation
        self.fields["ticket_number"].required = setting.require_ticket_on_activation
        if not setting.require_ticket_on_activation:
            self.fields["ticket_system"].help_text = "Optional."


class ExtendForm(forms.Form):
    duration_minutes = forms.IntegerField(label="Extend by (minutes)", min_value=5, required=False)
    end_at = forms.DateTimeField(label=zone_label("New end"), required=False, input_formats=DATETIME_FORMATS,
                                 widget=DATETIME_INPUT)
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def clean(self):
        data = super().clean()
        if not self.errors and (data.get("duration_minutes") is None) == (data.get("end_at") is None):
            raise forms.ValidationError("Give either how many minutes to add or the new end, not both.")
        return data


class RenewForm(forms.Form):
    end_at = forms.DateTimeField(label=zone_label("New end"), input_formats=DATETIME_FORMATS, widget=DATETIME_INPUT)
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DeactivateForm(forms.Form):
    justification = forms.CharField(required=False, max_length=2000)


class DecisionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

