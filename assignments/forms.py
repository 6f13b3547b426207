"""Input shapes of the administration pages. Forms parse and check shape only; every rule (who may,
how long, which policy) is the services' job, and their refusals come back as form errors."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from core.forms import HoursMinutesField, change_reason_field
from core.timezones import time_zone_names, zone_label

from . import selectors
from .models import NOTIFICATION_EVENTS, NOTIFICATION_RECIPIENTS, Assignment, Principal, RoleDefinition, RoleSetting

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
EVENT_LABELS = {
    "eligible_assigned": "Eligible assignment made",
    "active_assigned": "Active assignment made",
    "eligible_activated": "Eligible role activated",
}
RECIPIENT_LABELS = {"admins": "Administrators", "assignee": "Assignee / requester", "approvers": "Approvers"}


def grouped_role_choices(roles=None) -> list:
    """Roles grouped by kind for a <select> (one query); `roles`: a narrower queryset."""
    roles = list((roles if roles is not None else RoleDefinition.objects.all())
                 .order_by("kind", "name").values_list("pk", "name", "kind"))
    return [("", "Choose a role")] + [
        (label + "s", [(pk, name) for pk, name, role_kind in roles if role_kind == kind])
        for kind, label in RoleDefinition.Kind.choices
        if any(role_kind == kind for _pk, _name, role_kind in roles)
    ]


class ScopeField(forms.CharField):
    """A scope named by its path (`/subscriptions/s1`): what the picker submits and what a person types."""

    default_error_messages = {"unknown": "There is no scope %(path)s."}

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 512)
        super().__init__(**kwargs)

    def clean(self, value):
        path = super().clean(value)
        if not path:
            return None
        scope = selectors.scope_get(path=path.strip())
        if scope is None:
            raise ValidationError(self.error_messages["unknown"], code="unknown", params={"path": path})
        return scope


class SaneDateTimeField(forms.DateTimeField):
    """A date a person could mean (2000–2999): keeps date arithmetic far from datetime's limits."""

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None and not 2000 <= result.year <= 2999:
            raise ValidationError("Enter a date between the years 2000 and 2999.", code="out_of_range")
        return result


DateTimeField = SaneDateTimeField


class EndFields(forms.Form):
    """End date or permanent: one of the two must be chosen."""

    permanent = forms.BooleanField(required=False, label="Permanent (no end date)")
    end_at = DateTimeField(required=False, label=zone_label("End"), widget=DATETIME_INPUT)
    justification = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self):
        data = super().clean()
        if data.get("permanent"):
            data["end_at"] = None
        elif not data.get("end_at") and "end_at" not in self.errors:
            self.add_error("end_at", "Set an end, or tick Permanent.")
        return data


class AssignForm(EndFields):
    principal = forms.ModelChoiceField(
        queryset=Principal.objects.all(), label="Principal",
        error_messages={"required": "Pick the user, group or service principal to assign.",
                        "invalid_choice": "That principal does not exist."})
    role = forms.ModelChoiceField(
        queryset=RoleDefinition.objects.order_by("kind", "name"), label="Role",
        error_messages={"required": "Pick a role.", "invalid_choice": "That role does not exist."})
    scope = ScopeField(label="Scope", initial=selectors.ROOT_PATH)
    kind = forms.ChoiceField(choices=Assignment.Kind.choices, initial=Assignment.Kind.ELIGIBLE,
                             widget=forms.RadioSelect, label="Assignment type")
    start_at = DateTimeField(required=False, label=zone_label("Start"), widget=DATETIME_INPUT,
                                   help_text="Leave empty to start now.")
    ticket_system = forms.CharField(required=False, max_length=100, label="Ticket system")
    ticket_number = forms.CharField(required=False, max_length=100, label="Ticket number")

    field_order = ["principal", "role", "scope", "kind", "start_at", "permanent", "end_at", "justification",
                   "ticket_system", "ticket_number"]

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only roles the person may assign somewhere (a Privileged Role Administrator who owns no
        # subscription is not offered resource roles); the service still decides each submission.
        self.fields["role"].choices = grouped_role_choices(
            selectors.roles_assignable_by(user=user) if user is not None else None)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {name: data[name] for name in ("principal", "role", "scope", "kind", "start_at", "end_at",
                                              "justification", "ticket_system", "ticket_number")}


class UpdateForm(EndFields):
    start_at = DateTimeField(required=False, label=zone_label("Start"), widget=DATETIME_INPUT,
                                   help_text="Only a scheduled assignment's start can change.")
    field_order = ["start_at", "permanent", "end_at", "justification"]


class ExtendForm(EndFields):
    """Extend (ends within 14 days) or renew (ended within 30 days): a new end, or permanent."""


class ConfirmForm(forms.Form):
    justification = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class IdListField(forms.Field):
    widget = forms.MultipleHiddenInput
    default_error_messages = {"invalid": "The selection was not understood.", "required": "Tick at least one row."}

    def to_python(self, value):
        if not value:
            return []
        if isinstance(value, str):
            value = [value]
        try:
            ids = [int(v) for v in value]
        except (TypeError, ValueError):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        if any(i <= 0 or i > 2**62 for i in ids) or len(ids) > 500:
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return list(dict.fromkeys(ids))


class BulkMakeActiveForm(forms.Form):
    ids = IdListField()
    justification = forms.CharField(required=False, max_length=2000)


class GroupCreateForm(forms.Form):
    display_name = forms.CharField(max_length=200, label="Name")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    email = forms.EmailField(required=False)
    role_assignable = forms.BooleanField(
        required=False, label="Role-assignable",
        help_text="Only role-assignable groups can hold directory roles. This is fixed at creation: it cannot be "
                  "turned on or off later.")


class ServicePrincipalCreateForm(forms.Form):
    display_name = forms.CharField(max_length=200, label="Name")
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))


class ElevateForm(forms.Form):
    justification = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))


class RoleSettingTargetForm(forms.Form):
    """Which role at which scope (the role settings list's "open" form). It offers only the roles and
    scopes whose policy opens for `user`, and refuses a pair that would not open."""

    SCOPE_CHOICES_LIMIT = 200

    role = forms.ModelChoiceField(queryset=RoleDefinition.objects.none())
    scope = ScopeField(initial=selectors.ROOT_PATH, help_text="A scope path; the list offers yours.")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        kinds = selectors.role_setting_kinds_openable_by(user=user)
        roles = RoleDefinition.objects.filter(kind__in=kinds)
        self.fields["role"].queryset = roles
        self.fields["role"].choices = grouped_role_choices(roles)
        scopes = selectors.role_setting_scopes_openable_by(user=user, kinds=kinds).order_by("path")
        self.scope_paths = list(scopes.values_list("path", flat=True)[:self.SCOPE_CHOICES_LIMIT])
        if self.scope_paths and selectors.ROOT_PATH not in self.scope_paths:
            self.fields["scope"].initial = self.scope_paths[0]
        self.fields["scope"].widget.attrs["list"] = f"{self['scope'].auto_id}-choices"  # the page's <datalist>

    def clean(self):
        cleaned = super().clean()
        role, scope = cleaned.get("role"), cleaned.get("scope")
        if role is not None and scope is not None and not selectors.role_setting_opens(user=self.user, role=role,
                                                                                      scope=scope):
            self.add_error("scope", f"The policy of {role.name} does not open at {scope.path} for you: pick a "
                                    f"scope where the role can be held and you administer it (or /, its default, "
                                    f"if you administer it there).")
        return cleaned


def _cell_name(event: str, recipient: str, part: str) -> str:
    return f"n__{event}__{recipient}__{part}"


class RoleSettingForm(forms.Form):
    """Every field of DESIGN §4: activation, assignment, notification matrix (3 events × 3 recipients)."""

    max_activation_minutes = HoursMinutesField(label="Maximum activation duration",
                                               help_text="Between 1 and 24 hours.")
    reason = change_reason_field()
    require_mfa_on_activation = forms.BooleanField(required=False, label="Require MFA on activation")
    require_justification_on_activation = forms.BooleanField(required=False,
                                                             label="Require justification on activation")
    require_ticket_on_activation = forms.BooleanField(required=False, label="Require ticket information on activation")
    require_approval = forms.BooleanField(required=False, label="Require approval to activate")
    approvers = forms.ModelMultipleChoiceField(
        queryset=Principal.objects.filter(kind__in=[Principal.Kind.USER, Principal.Kind.GROUP]), required=False,
        help_text="Users or groups. With none named, the role's administrators approve.")
    approvals_required = forms.IntegerField(label="Approvals needed (N of M)", max_value=32767)
    approval_window_minutes = HoursMinutesField(label="Approval window",
                                                help_text="Between 1 hour and 14 days (336 h). A request not decided "
                                                          "within it times out.")
    trusted_networks = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                       help_text="CIDR ranges, one per line; empty means anywhere.")
    allowed_time_windows = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                           help_text="One per line, e.g. 'Mon-Fri 08:00-18:00', in the zone "
                                                     "below; empty: any time.")
    allowed_time_windows_zone = forms.ChoiceField(required=False, choices=[], label="Time zone of the time windows",
                                                  help_text="Empty: yours.")
    allow_permanent_eligible = forms.BooleanField(required=False, label="Allow permanent eligible assignment")
    expire_eligible_after = forms.ChoiceField(choices=RoleSetting.EXPIRATION_CHOICES,
                                              label="Expire eligible assignments after")
    allow_permanent_active = forms.BooleanField(required=False, label="Allow permanent active assignment")
    expire_active_after = forms.ChoiceField(choices=RoleSetting.EXPIRATION_CHOICES,
                                            label="Expire active assignments after")
    require_mfa_on_active_assignment = forms.BooleanField(required=False, label="Require MFA on active assignment")
    require_justification_on_active_assignment = forms.BooleanField(
        required=False, label="Require justification on active assignment")
    allow_service_principal_activation = forms.BooleanField(
        required=False, label="Service principals may request activation",
        help_text="Service principals may then be made eligible (time-bound) and ask through the API; a person "
                  "always approves their activation.")

    SCALAR_FIELDS = (
        "max_activation_minutes", "require_mfa_on_activation", "require_justification_on_activation",
        "require_ticket_on_activation", "require_approval", "approvals_required", "approval_window_minutes",
        "trusted_networks", "allowed_time_windows", "allowed_time_windows_zone", "allow_permanent_eligible",
        "expire_eligible_after",
        "allow_permanent_active", "expire_active_after", "require_mfa_on_active_assignment",
        "require_justification_on_active_assignment", "allow_service_principal_activation",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["allowed_time_windows_zone"].choices = [("", "—")] + [
            (name, name.replace("_", " ")) for name in time_zone_names()]
        for event in NOTIFICATION_EVENTS:
            for recipient in NOTIFICATION_RECIPIENTS:
                label = f"{EVENT_LABELS[event]} → {RECIPIENT_LABELS[recipient]}"
                self.fields[_cell_name(event, recipient, "default")] = forms.BooleanField(
                    required=False, label=f"{label}: send to default recipients")
                self.fields[_cell_name(event, recipient, "extra")] = forms.CharField(
                    required=False, max_length=2000, label=f"{label}: extra addresses",
                    widget=forms.Textarea(attrs={"rows": 2}))
                self.fields[_cell_name(event, recipient, "critical")] = forms.BooleanField(
                    required=False, label=f"{label}: critical emails only")

    def clean_allowed_time_windows_zone(self):
        # Left empty, the windows are read in the zone of the person saving them.
        return self.cleaned_data["allowed_time_windows_zone"] or timezone.get_current_timezone_name()

    def clean(self):
        data = super().clean()
        for event in NOTIFICATION_EVENTS:
            for recipient in NOTIFICATION_RECIPIENTS:
                name = _cell_name(event, recipient, "extra")
                addresses = [a for a in re.split(r"[\s,;]+", data.get(name) or "") if a]
                for address in addresses:
                    try:
                        validate_email(address)
                    except ValidationError:
                        self.add_error(name, f"{address} is not an email address.")
                        break
                data[name] = addresses
        return data

    @classmethod
    def initial_for(cls, setting: RoleSetting, approver_ids: list[int]) -> dict:
        initial = {name: getattr(setting, name) for name in cls.SCALAR_FIELDS}
        if not setting.allowed_time_windows:  # no windows yet: offer the zone of the person editing
            initial["allowed_time_windows_zone"] = timezone.get_current_timezone_name()
        initial["approvers"] = approver_ids
        matrix = setting.notifications or {}
        for event in NOTIFICATION_EVENTS:
            for recipient in NOTIFICATION_RECIPIENTS:
                cell = (matrix.get(event) or {}).get(recipient) or {}
                initial[_cell_name(event, recipient, "default")] = cell.get("default_recipients", True)
                initial[_cell_name(event, recipient, "extra")] = "\n".join(cell.get("extra_addresses", []))
                initial[_cell_name(event, recipient, "critical")] = cell.get("critical_only", False)
        return initial

    def partial_values(self) -> dict:
        """The scalar fields that parsed, for the services' validation of an otherwise refused form."""
        data = getattr(self, "cleaned_data", {})
        return {name: data[name] for name in self.SCALAR_FIELDS if name in data and data[name] is not None}

    def service_values(self) -> dict:
        data = self.cleaned_data
        values = {name: data[name] for name in self.SCALAR_FIELDS}
        values["notifications"] = {
            event: {
                recipient: {
                    "default_recipients": data[_cell_name(event, recipient, "default")],
                    "extra_addresses": data[_cell_name(event, recipient, "extra")],
                    "critical_only": data[_cell_name(event, recipient, "critical")],
                }
                for recipient in NOTIFICATION_RECIPIENTS
            }
            for event in NOTIFICATION_EVENTS
        }
        return values

    def approver_ids(self) -> list[int]:
        return [p.pk for p in self.cleaned_data["approvers"]]

    def matrix_rows(self):
        """[(event label, [(recipient label, default field, extra field, critical field)])] for the template."""
        return [
            (EVENT_LABELS[event], [
                (RECIPIENT_LABELS[recipient], self[_cell_name(event, recipient, "default")],
                 self[_cell_name(event, recipient, "extra")], self[_cell_name(event, recipient, "critical")])
                for recipient in NOTIFICATION_RECIPIENTS
            ])
            for event in NOTIFICATION_EVENTS
        ]


class ApprovalStageForm(forms.Form):
    """One approval stage on the stages page. Approvers are typed one a line (a user name, or a group's
    name); a stage with neither approvers nor "owners of the scope" is left out (how one is removed)."""

    name = forms.CharField(required=False, max_length=100, help_text="Optional, e.g. “Security team”.")
    approvers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=4000,
                                help_text="One user name or group name a line; a group's members approve.")
    owners_of_scope = forms.BooleanField(required=False, label="The owners of the scope approve",
                                         help_text="Whoever holds Owner at or above the request's scope.")
    approvals_required = forms.IntegerField(min_value=1, max_value=25, initial=1, label="Approvals needed (N of M)")
    timeout_minutes = forms.IntegerField(min_value=15, max_value=14 * 24 * 60, initial=24 * 60,
                                         label="Timeout (minutes)")
    escalate_on_timeout = forms.BooleanField(required=False, label="On timeout, escalate to the fallback approvers",
                                             help_text="Otherwise the request times out.")
    fallback_approvers = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
                                         help_text="One user name or group name a line.")
    fallback_approvals_required = forms.IntegerField(min_value=1, max_value=25, initial=1,
                                                     label="Fallback approvals needed")
    reminder_every_minutes = forms.IntegerField(required=False, min_value=0, max_value=7 * 24 * 60,
                                                label="Remind every (minutes)",
                                                help_text="Empty: the portal's default; 0: no reminders.")

    @staticmethod
    def _lines(text: str) -> list[str]:
        return [line.strip() for line in (text or "").splitlines() if line.strip()]

    def _principal_ids(self, name: str) -> list[int]:
        found, unknown = selectors.principals_by_names(names=self._lines(self.cleaned_data.get(name, "")))
        if unknown:
            self.add_error(name, f"No single user or group is called: {', '.join(unknown)}.")
        return [p.pk for p in found]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        data["approver_ids"] = self._principal_ids("approvers")
        data["fallback_ids"] = self._principal_ids("fallback_approvers")
        return data

    @property
    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {})
        return not self._lines(data.get("approvers", "")) and not data.get("owners_of_scope")

    def stage_values(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "approvers": data["approver_ids"], "owners_of_scope": data["owners_of_scope"],
                "approvals_required": data["approvals_required"], "timeout_minutes": data["timeout_minutes"],
                "escalate_on_timeout": data["escalate_on_timeout"], "fallback_approvers": data["fallback_ids"],
                "fallback_approvals_required": data["fallback_approvals_required"],
                "reminder_every_minutes": data["reminder_every_minutes"]}

    @classmethod
    def initial_for(cls, stage) -> dict:
        return {"name": stage.name, "approvers": selectors.stage_approver_names(stage.approvers.all()),
                "owners_of_scope": stage.owners_of_scope, "approvals_required": stage.approvals_required,
                "timeout_minutes": stage.timeout_minutes, "escalate_on_timeout": stage.escalate_on_timeout,
                "fallback_approvers": selectors.stage_approver_names(stage.fallback_approvers.all()),
                "fallback_approvals_required": stage.fallback_approvals_required,
                "reminder_every_minutes": stage.reminder_every_minutes}


ApprovalStageFormSet = forms.formset_factory(ApprovalStageForm, extra=0, max_num=5, absolute_max=5,
                                             validate_max=True)
