"""Input shapes of the governance pages: the what-if question, a conflict set, an exception, a fix."""

import json

from django import forms

from assignments.models import Principal, RoleDefinition, Scope

from .models import ConflictSet
from .rightsizing import BOUNDS


class ScopePathField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        if not value:
            return None
        scope = Scope.objects.filter(path=value.strip()).first()
        if scope is None:
            raise forms.ValidationError(f"There is no scope {value}.")
        return scope


class WhatIfForm(forms.Form):
    principal = forms.ModelChoiceField(queryset=Principal.objects.filter(kind=Principal.Kind.USER, enabled=True),
                                       label="Person")
    role = forms.ModelChoiceField(queryset=RoleDefinition.objects.all(), label="Role")
    scope = ScopePathField(label="Scope", initial="/", help_text="A scope path, such as /subscriptions/s1.")
    at = forms.DateTimeField(label="At", required=False, help_text="Empty: now. A later time simulates then.",
                             widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    duration_minutes = forms.IntegerField(label="Duration (minutes)", required=False, min_value=1,
                                          max_value=24 * 60, help_text="Empty: the policy's maximum.")
    justification = forms.CharField(label="Justification", required=False, max_length=500)
    ticket_system = forms.CharField(label="Ticket system", required=False, max_length=100)
    ticket_number = forms.CharField(label="Ticket number", required=False, max_length=100)
    mfa_verified = forms.BooleanField(label="The person has just verified with MFA", required=False)
    client_ip = forms.GenericIPAddressField(label="Client address", required=False)
    proposed_scope = ScopePathField(label="Proposed policy: scope", required=False,
                                    help_text="Where the proposed setting would be made (empty: where the policy "
                                              "is set today).")
    proposed_values = forms.CharField(
        label="Proposed policy: values (JSON)", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text='Role setting values as the settings page saves them, e.g. {"require_approval": true}.')

    def clean_proposed_values(self):
        text = (self.cleaned_data.get("proposed_values") or "").strip()
        if not text:
            return None
        try:
            values = json.loads(text)
        except ValueError:
            raise forms.ValidationError("Give the proposed values as a JSON object.")
        if not isinstance(values, dict):
            raise forms.ValidationError("Give the proposed values as a JSON object.")
        return values


class ConflictSetForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(label="Description", required=False, widget=forms.Textarea(attrs={"rows": 2}))
    mode = forms.ChoiceField(label="When a change would combine them", choices=ConflictSet.Mode.choices,
                             widget=forms.RadioSelect, initial=ConflictSet.Mode.REFUSE)
    roles = forms.ModelMultipleChoiceField(label="Roles", queryset=RoleDefinition.objects.all(),
                                           widget=forms.CheckboxSelectMultiple)


class ExceptionForm(forms.Form):
    conflict_set = forms.ModelChoiceField(label="Conflict set", queryset=ConflictSet.objects.all())
    principal = forms.ModelChoiceField(label="Principal", queryset=Principal.objects.filter(enabled=True))
    justification = forms.CharField(label="Justification", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
    end_at = forms.DateTimeField(label="Ends at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))


class FixForm(forms.Form):
    key = forms.CharField(max_length=100, widget=forms.HiddenInput)
    justification = forms.CharField(label="Justification", required=False, max_length=500)


class RightsizingSettingsForm(forms.Form):
    days = forms.IntegerField(label=BOUNDS["days"][0], min_value=BOUNDS["days"][1], max_value=BOUNDS["days"][2],
                              help_text="Eligibility unused this long, standing access this old; activations read.")
    factor = forms.IntegerField(label=BOUNDS["factor"][0], min_value=BOUNDS["factor"][1],
                                max_value=BOUNDS["factor"][2],
                                help_text="A maximum duration this many times the longest recent use is too high.")
    min_samples = forms.IntegerField(label=BOUNDS["min_samples"][0], min_value=BOUNDS["min_samples"][1],
                                     max_value=BOUNDS["min_samples"][2],
                                     help_text="Activations a duration or a pairing needs before it is advised on.")
