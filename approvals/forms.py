"""Input shapes of the self-service pages. Business rules stay in `approvals.services`; these only
parse and bound what a browser can send, and offer only the choices the rules allow."""

import uuid

from django import forms

from assignments import selectors as assignment_selectors
from core.forms import HoursMinutesField, minutes_label
from core.timezones import zone_label

from .hooks import activation_notes
from .services import BATCH_LIMIT

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class ActivateForm(forms.Form):
    scope = forms.ModelChoiceField(queryset=None, empty_label=None,
                                   help_text="Where you need the role: where you are eligible, or narrower.")
    duration_minutes = HoursMinutesField(label="Duration")
    start_at = forms.DateTimeField(label=zone_label("Start"), required=False, input_formats=DATETIME_FORMATS,
                                   widget=DATETIME_INPUT, help_text="Leave empty to start now (or on approval).")
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)
    ticket_system = forms.CharField(required=False, max_length=100)
    ticket_number = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, eligible, setting, **kwargs):
        super().__init__(*args, **kwargs)
        # Only where the role can be held (a directory role: `/` alone), at or below the eligibility.
        self.fields["scope"].queryset = (
            assignment_selectors.scopes_for_role(role=eligible.role, within=eligible.scope)
            .order_by("ancestor_links__depth", "path")
        )
        self.fields["scope"].initial = eligible.scope_id
        self.fields["scope"].label_from_instance = lambda s: f"{s.path} ({s.display_name})"
        maximum = setting.max_activation_minutes
        duration = self.fields["duration_minutes"]
        duration.min_minutes, duration.max_minutes = 5, maximum
        duration.help_text = f"Hours and minutes; at most {minutes_label(maximum)} (the policy's maximum)."
        duration.initial = min(60, maximum)
        hours_input, minutes_input = duration.widget.widgets
        hours_input.attrs["max"] = maximum // 60
        self.fields["justification"].required = setting.require_justification_on_activation
        self.fields["ticket_system"].required = setting.require_ticket_on_activation
        self.fields["ticket_number"].required = setting.require_ticket_on_activation
        if not setting.require_ticket_on_activation:
            self.fields["ticket_system"].help_text = "Optional."
        # Justification and ticket hints of the role's request rules (`selfservice`).
        self.policy_lines = []
        for note in activation_notes(setting=setting, eligible=eligible):
            for name, text in note.help_texts.items():
                if name in self.fields:
                    self.fields[name].help_text = " ".join(filter(None, [self.fields[name].help_text, text]))
            self.policy_lines += list(note.policy_lines)


class ExtendForm(forms.Form):
    duration_minutes = HoursMinutesField(label="Extend by", required=False, min_minutes=5)
    end_at = forms.DateTimeField(label=zone_label("New end"), required=False, input_formats=DATETIME_FORMATS,
                                 widget=DATETIME_INPUT)
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)

    def __init__(self, *args, assignment=None, setting=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assignment is not None and setting is not None and assignment.is_activation:
            maximum = setting.max_activation_minutes
            self.fields["duration_minutes"].help_text = (
                f"Hours and minutes. An activation lasts at most {minutes_label(maximum)} from now (the policy's "
                f"maximum), and never past your eligibility.")
        else:
            self.fields["duration_minutes"].help_text = "Hours and minutes; or give the new end below."

    def clean(self):
        data = super().clean()
        if not self.errors and (data.get("duration_minutes") is None) == (data.get("end_at") is None):
            raise forms.ValidationError("Give either how long to add or the new end, not both.")
        return data


class RenewForm(forms.Form):
    end_at = forms.DateTimeField(label=zone_label("New end"), input_formats=DATETIME_FORMATS, widget=DATETIME_INPUT)
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


class DeactivateForm(forms.Form):
    justification = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                                    help_text="Optional: why you are done.")


class DecisionForm(forms.Form):
    """Approve or deny one request. On an extension or a renewal the approver may set another start and
    end (empty: as requested); the service checks them."""

    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    start_at = forms.DateTimeField(label=zone_label("Start"), required=False, input_formats=DATETIME_FORMATS,
                                   widget=DATETIME_INPUT)
    end_at = forms.DateTimeField(label=zone_label("End"), required=False, input_formats=DATETIME_FORMATS,
                                 widget=DATETIME_INPUT)


class BulkApproveForm(forms.Form):
    """The selected requests of the approvals queue, approved at once with one optional comment."""

    comment = forms.CharField(required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        ids = []
        for raw in self.data.getlist("ids") if hasattr(self.data, "getlist") else []:
            try:
                ids.append(uuid.UUID(str(raw)))
            except ValueError:
                raise forms.ValidationError("The selection holds something that is not a request: reload the page.")
        if not ids:
            raise forms.ValidationError("Select at least one request to approve.")
        if len(set(ids)) > BATCH_LIMIT:
            raise forms.ValidationError(f"Approve at most {BATCH_LIMIT} requests at once.")
        data["ids"] = list(dict.fromkeys(ids))
        return data




class DelegationForm(forms.Form):
    """Delegate one's approvals to another user for a date range (out of office)."""

    delegate = forms.CharField(max_length=150, label="Delegate to (user name)",
                               help_text="The colleague who decides for you meanwhile; never their own requests.")
    starts_at = forms.DateTimeField(label=zone_label("From"), input_formats=DATETIME_FORMATS, widget=DATETIME_INPUT)
    ends_at = forms.DateTimeField(label=zone_label("Until"), input_formats=DATETIME_FORMATS, widget=DATETIME_INPUT,
                                  help_text="At most 180 days.")
    reason = forms.CharField(required=False, max_length=500, help_text="Optional, e.g. “holiday”.")


class DelegationRevokeForm(forms.Form):
    delegation = forms.IntegerField(widget=forms.HiddenInput)
