"""Input shapes of the alerts pages. Validation only; the services decide."""

from django import forms

from assignments.models import Principal
from core.forms import change_reason_field

from .definitions import AlertDefinition
from .models import Incident, Severity


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Recorded in the audit log.")


class AlertSettingForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Evaluate this alert")

    def __init__(self, *args, definition: AlertDefinition, **kwargs):
        super().__init__(*args, **kwargs)
        self.definition = definition
        for threshold in definition.thresholds:
            self.fields[threshold.name] = forms.IntegerField(
                label=threshold.label, min_value=threshold.minimum, max_value=threshold.maximum,
                help_text=f"Default {threshold.default}; {threshold.minimum}–{threshold.maximum}.")
        self.fields["reason"] = change_reason_field()

    def thresholds(self) -> dict:
        return {t.name: self.cleaned_data[t.name] for t in self.definition.thresholds}


class IncidentFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Incident.Status.choices])
    severity = forms.ChoiceField(required=False, choices=[("", "Any severity"), *Severity.choices])
    alert = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)


class FixAssignmentForm(forms.Form):
    assignment_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    justification = forms.CharField(max_length=2000, label="Justification")


class AddApproversForm(forms.Form):
    approvers = forms.ModelMultipleChoiceField(
        queryset=Principal.objects.filter(enabled=True, kind__in=[Principal.Kind.USER, Principal.Kind.GROUP])
        .order_by("display_name"),
        widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text="Users or groups; added to the approvers already named.")


class ConvertSelectForm(forms.Form):
    """Step 1 of the discovery wizard: which permanent active assignments to convert."""

    assignments = forms.TypedMultipleChoiceField(coerce=int, widget=forms.CheckboxSelectMultiple,
                                                 error_messages={"required": "Choose at least one assignment."})
    justification = forms.CharField(max_length=2000, label="Justification",
                                    help_text="Recorded with every conversion in the audit log.")

    def __init__(self, *args, choices: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignments"].choices = choices
