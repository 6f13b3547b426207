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
