"""Input shapes of the access review pages. Forms parse and check shape; every rule (who may create,
who may decide, durations that fit the recurrence) is the services' job, and their refusals come back
as form errors."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone

from assignments.models import Principal, RoleDefinition, Scope
from core.timezones import zone_label

from .models import AccessReview, AccessReviewItem

DATE_INPUT = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class PrincipalListField(forms.CharField):
    """People or groups named one per line (or comma-separated) by username, email or display name."""

    widget = forms.Textarea(attrs={"rows": 3})

    def __init__(self, *, kinds: list[str], **kwargs):
        self.kinds = kinds
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 5000)
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value) or ""
        names = [n.strip() for chunk in text.splitlines() for n in chunk.split(",") if n.strip()]
        found, errors = [], []
        for name in dict.fromkeys(names):
            matches = list(Principal.objects.filter(
                Q(user__username__iexact=name) | Q(email__iexact=name) | Q(display_name__iexact=name),
                kind__in=self.kinds, enabled=True)[:2])
            if not matches:
                errors.append(f"Nobody called {name!r} was found.")
            elif len(matches) > 1:
                errors.append(f"{name!r} names several principals: use a username or an email address.")
            else:
                found.append(matches[0])
        if errors:
            raise ValidationError(errors)
        return found


class ReviewForm(forms.Form):
    name = forms.CharField(max_length=180)
    description = forms.CharField(required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 3}))
    roles = forms.ModelMultipleChoiceField(
        queryset=RoleDefinition.objects.order_by("kind", "name"),
        help_text="Selecting several roles creates one review per role.",
        widget=forms.SelectMultiple(attrs={"size": 8}))
    scope = forms.CharField(max_length=512, initial="/", help_text="The scope's id, e.g. / or /subscriptions/s1. "
                                                                    "Assignments at this scope and below are reviewed.")
    assignment_kinds = forms.ChoiceField(choices=AccessReview.AssignmentKinds.choices,
                                         initial=AccessReview.AssignmentKinds.BOTH, label="Assignments")
    include_users = forms.BooleanField(required=False, initial=True, label="Users")
    include_groups = forms.BooleanField(required=False, initial=True, label="Groups")
    include_service_principals = forms.BooleanField(required=False, initial=True, label="Service principals")
    inactive_days = forms.IntegerField(required=False, min_value=1, max_value=3650,
                                       label="Only those inactive for (days)",
                                       help_text="Leave empty to review everyone; otherwise only assignments "
                                                 "without an activation of the role in this many days.")
    reviewer_type = forms.ChoiceField(choices=AccessReview.ReviewerType.choices, widget=forms.RadioSelect,
                                      initial=AccessReview.ReviewerType.NAMED, label="Reviewers")
    reviewers = PrincipalListField(kinds=[Principal.Kind.USER, Principal.Kind.GROUP], label="Named reviewers",
                                   help_text="Usernames, emails or group names, one per line.")
    fallback_reviewers = PrincipalListField(
        kinds=[Principal.Kind.USER, Principal.Kind.GROUP], label="Fallback reviewers",
        help_text="Review what nobody else can: groups and applications under self-review, groups without owners.")
    start_date = forms.DateField(widget=DATE_INPUT, label=zone_label("Start date"))
    duration_days = forms.IntegerField(min_value=1, max_value=365, initial=14, label="Duration (days)")
    recurrence = forms.ChoiceField(choices=AccessReview.Recurrence.choices, initial=AccessReview.Recurrence.ONE_TIME)
    end_type = forms.ChoiceField(choices=AccessReview.EndType.choices, initial=AccessReview.EndType.NEVER,
                                 label="Series ends")
    end_date = forms.DateField(required=False, widget=DATE_INPUT, label="End date")
    occurrences = forms.IntegerField(required=False, min_value=1, max_value=1000, label="Number of occurrences")
    show_recommendations = forms.BooleanField(required=False, initial=True,
                                              help_text="Approve if activated in the last 30 days, deny otherwise.")
    require_reason_on_approve = forms.BooleanField(required=False, initial=False)
    auto_apply = forms.BooleanField(required=False, initial=False, label="Auto-apply results at the end")
    default_decision = forms.ChoiceField(choices=AccessReview.DefaultDecision.choices,
                                         initial=AccessReview.DefaultDecision.NO_CHANGE,
                                         label="If reviewers don't respond")
    send_reminders = forms.BooleanField(required=False, initial=True, label="Remind reviewers who have not finished")
    notify = PrincipalListField(kinds=[Principal.Kind.USER], label="Also notify on completion",
                                help_text="Usernames or emails; the creator is always notified.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["start_date"].initial = timezone.localdate()

    def clean_scope(self):
        path = self.cleaned_data["scope"].strip()
        scope = Scope.objects.filter(path=path).first()
        if scope is None:
            raise ValidationError(f"There is no scope {path}.")
        return scope


class IdListField(forms.Field):
    """A list of integer ids from repeated inputs (`items=1&items=2`)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        values = value if isinstance(value, list | tuple) else ([value] if value else [])
        try:
            return [int(v) for v in values]
        except (TypeError, ValueError):
            raise ValidationError("Items are chosen by number.") from None

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class DecisionForm(forms.Form):
    """One decision for the selected items, or for every item shown on the page ("apply_to=page")."""

    items = IdListField(required=False)
    page_items = IdListField(required=False)
    apply_to = forms.ChoiceField(required=False, choices=[("", "Selected items"), ("page", "Every item shown")])
    decision = forms.ChoiceField(choices=[c for c in AccessReviewItem.Decision.choices if c[0]],
                                 widget=forms.RadioSelect, error_messages={"required": "Choose a decision."})
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text="Required to deny, and to approve where the review asks for it.")

    def clean(self):
        data = super().clean()
        if data.get("apply_to") == "page":
            data["items"] = data.get("page_items") or []
        if not data.get("items") and "items" not in self.errors:
            self.add_error("items", "Select at least one item to decide.")
        return data
