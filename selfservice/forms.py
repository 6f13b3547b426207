"""Input shapes of the request-rules pages. The rules themselves are checked by `selfservice.services`."""

from django import forms

from approvals.forms import DATETIME_FORMATS, DATETIME_INPUT
from assignments.models import Principal, RoleDefinition, Scope
from core.forms import HoursMinutesField, minutes_label
from core.timezones import zone_label

from .catalogue import Item
from .models import BreakGlassReview


class RequestRulesForm(forms.Form):
    justification_min_length = forms.IntegerField(label="Minimum justification length (characters)", min_value=0,
                                                  max_value=2000, initial=0)
    justification_pattern = forms.CharField(
        label="Justification pattern", required=False, max_length=500,
        help_text="A regular expression the whole justification must match; empty: any text.")
    justification_hint = forms.CharField(label="Justification hint", required=False, max_length=300,
                                         help_text="Shown under the field and with the error, e.g. “INC-123: why”.")
    ticket_pattern = forms.CharField(label="Ticket number pattern", required=False, max_length=300,
                                     help_text="A regular expression the whole ticket number must match.")
    ticket_hint = forms.CharField(label="Ticket hint", required=False, max_length=300)
    ticket_endpoint_url = forms.CharField(
        label="Ticket endpoint", required=False, max_length=500,
        help_text="http(s) URL with {ticket}: GET answers 2xx for a known ticket, 404 for an unknown one.")
    allow_break_glass = forms.BooleanField(
        label="Allow break-glass self-approval", required=False,
        help_text="In an emergency a requester may approve their own activation, with a reason; the "
                  "administrators are alerted at once and a post-hoc review opens.")
    break_glass_review_hours = forms.IntegerField(label="Post-hoc review due within (hours)", min_value=1,
                                                  max_value=720, initial=24)


class AutoApprovalRuleForm(forms.Form):
    name = forms.CharField(max_length=200)
    group = forms.ModelChoiceField(queryset=Principal.objects.none(), required=False,
                                   help_text="The requester must be a member of this group.")
    on_call = forms.BooleanField(label="The requester must be on call", required=False,
                                 help_text="On the rule's roster (an iCalendar file or URL) at the activation's start.")
    roster_url = forms.CharField(label="Roster URL", required=False, max_length=500,
                                 help_text="http(s) URL of an iCalendar file; or upload one on the rule's page.")
    roster_zone = forms.CharField(label="Roster time zone", max_length=64, initial="UTC",
                                  help_text="For floating times and all-day dates in the roster.")
    time_windows = forms.CharField(label="Time windows", required=False, widget=forms.Textarea(attrs={"rows": 2}),
                                   help_text="One per line, like “Mon-Fri 08:00-18:00”: the activation starts in one.")
    time_windows_zone = forms.CharField(label="Time zone of the windows", max_length=64, initial="UTC")
    ticket_pattern = forms.CharField(label="Ticket number pattern", required=False, max_length=300)
    max_duration_minutes = HoursMinutesField(label="Maximum duration", required=False, min_minutes=5)

    def __init__(self, *args, setting, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = Principal.objects.filter(kind=Principal.Kind.GROUP, enabled=True).order_by(
            "display_name")
        duration = self.fields["max_duration_minutes"]
        duration.max_minutes = setting.max_activation_minutes
        duration.help_text = f"Hours and minutes, at most {minutes_label(setting.max_activation_minutes)}."


class RosterUploadForm(forms.Form):
    roster = forms.FileField(label="iCalendar file (.ics)", required=False,
                             help_text="Empty: fetch the rule's roster URL.")


class BreakGlassForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                             help_text="What the emergency is. The role's administrators read it at once.")
    duration_minutes = HoursMinutesField(label="Duration")
    ticket_system = forms.CharField(required=False, max_length=100)
    ticket_number = forms.CharField(required=False, max_length=100)

    def __init__(self, *args, setting, **kwargs):
        super().__init__(*args, **kwargs)
        duration = self.fields["duration_minutes"]
        duration.min_minutes, duration.max_minutes = 5, setting.max_activation_minutes
        duration.initial = min(60, setting.max_activation_minutes)
        duration.help_text = f"At most {minutes_label(setting.max_activation_minutes)} (the policy's maximum)."
        self.fields["ticket_system"].required = self.fields["ticket_number"].required = \
            setting.require_ticket_on_activation


class ReviewCompleteForm(forms.Form):
    outcome = forms.ChoiceField(choices=BreakGlassReview.Outcome.choices, widget=forms.RadioSelect)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                              help_text="What you found: who confirmed the emergency, what was done.")


CATALOGUE_ROWS = 5


class CatalogueForm(forms.Form):
    """Up to CATALOGUE_ROWS (role, scope) rows, one end and one justification for all of them."""

    end_at = forms.DateTimeField(label=zone_label("Eligible until"), input_formats=DATETIME_FORMATS,
                                 widget=DATETIME_INPUT,
                                 help_text="Within each role's policy (e.g. at most 3 months for some roles).")
    justification = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=2000,
                                    help_text="Why you need these roles; the administrators read it.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        roles = RoleDefinition.objects.order_by("kind", "name")
        for row in range(CATALOGUE_ROWS):
            self.fields[f"role_{row}"] = forms.ModelChoiceField(
                queryset=roles, required=False, label=f"Role {row + 1}", empty_label="—",
                to_field_name="slug")
            self.fields[f"role_{row}"].label_from_instance = lambda r: f"{r.name} ({r.get_kind_display()})"
            self.fields[f"scope_{row}"] = forms.CharField(
                required=False, max_length=512, label=f"Scope {row + 1}", initial="/" if row == 0 else "",
                help_text="A scope path: / for directory roles, /subscriptions/… for resource roles.")
        order = [name for row in range(CATALOGUE_ROWS) for name in (f"role_{row}", f"scope_{row}")]
        self.order_fields(order + ["end_at", "justification"])

    def clean(self):
        data = super().clean()
        items = []
        for row in range(CATALOGUE_ROWS):
            role, path = data.get(f"role_{row}"), (data.get(f"scope_{row}") or "").strip()
            if role is None and not path:
                continue
            if role is None:
                self.add_error(f"role_{row}", "Choose the role for this scope.")
                continue
            scope = Scope.objects.filter(path=path or "/").first()
            if scope is None:
                self.add_error(f"scope_{row}", f"There is no scope {path}.")
                continue
            items.append(Item(role=role, scope=scope))
        if not items and not self.errors:
            raise forms.ValidationError("Choose at least one role.")
        data["items"] = items
        return data


class BatchDecisionForm(forms.Form):
    comment = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
