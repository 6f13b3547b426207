"""Input shapes of the integrations pages. Business rules live in the services; these forms only
shape and pre-check input so that mistakes come back as field errors."""

from django import forms

from core.domain_events import EVENTS

from .urlpolicy import outbound_url_problem

EVENT_CHOICES = [(name, name) for name in EVENTS]


def _clean_outbound_url(value: str) -> str:
    problem = outbound_url_problem((value or "").strip())
    if problem:
        raise forms.ValidationError(problem)
    return value.strip()


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(label="Receiver URL", max_length=500, assume_scheme="https",
                         help_text="HTTPS recommended. Each delivery is a signed POST of JSON.")
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(choices=EVENT_CHOICES, widget=forms.CheckboxSelectMultiple,
                                            error_messages={"required": "Choose at least one event type."})
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_url(self):
        return _clean_outbound_url(self.cleaned_data["url"])


class ScimApplicationForm(forms.Form):
    group = forms.ModelChoiceField(queryset=None, empty_label=None,
                                   help_text="Groups you own, or every group for role administrators.")
    name = forms.CharField(max_length=200)
    base_url = forms.URLField(label="SCIM 2.0 base URL", max_length=500, assume_scheme="https",
                              help_text="The URL under which /Users and /Groups are served, e.g. "
                                        "https://app.example.com/scim/v2")
    token = forms.CharField(label="Bearer token", required=False, strip=True,
                            widget=forms.PasswordInput(render_value=False),
                            help_text="Stored encrypted and never shown again. Leave empty if the application "
                                      "needs no authentication.")
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, groups=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups

    def clean_base_url(self):
        return _clean_outbound_url(self.cleaned_data["base_url"])


class ScimApplicationEditForm(forms.Form):
    name = forms.CharField(max_length=200)
    base_url = forms.URLField(label="SCIM 2.0 base URL", max_length=500, assume_scheme="https")
    new_token = forms.CharField(label="Replace the bearer token", required=False, strip=True,
                                widget=forms.PasswordInput(render_value=False),
                                help_text="Leave empty to keep the stored token.")
    remove_token = forms.BooleanField(label="Remove the stored token", required=False)
    enabled = forms.BooleanField(required=False)

    def clean_base_url(self):
        return _clean_outbound_url(self.cleaned_data["base_url"])

    def clean(self):
        data = super().clean()
        if data.get("new_token") and data.get("remove_token"):
            raise forms.ValidationError("Either replace the token or remove it, not both.")
        return data

    @property
    def token_change(self) -> str | None:
        """None keeps the stored token, "" removes it, a value replaces it."""
        if self.cleaned_data.get("remove_token"):
            return ""
        return self.cleaned_data.get("new_token") or None
