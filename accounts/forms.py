from django import forms

from core.timezones import time_zone_names


class CodeForm(forms.Form):
    token = forms.CharField(
        label="Code", max_length=32, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True,
                                      "spellcheck": "false"}),
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
    )


class EnrolForm(forms.Form):
    device_id = forms.IntegerField(widget=forms.HiddenInput)
    # Required for the first authenticator only; the service decides (and says so).
    enrolment_code = forms.CharField(
        label="Enrolment code", max_length=32, required=False, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "autocapitalize": "characters"}),
        help_text="The one-time code emailed to you, or given to you by a directory administrator.",
    )
    token = forms.CharField(
        label="Code from the app", max_length=10, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(label="Time zone", choices=[],
                                  help_text="Pages show times in this zone; hover a time for UTC. "
                                            "Dates and times you type are read in it too.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name.replace("_", " ")) for name in time_zone_names()]


class BackupCodesForm(forms.Form):
    """No input: a confirmation button. It carries a refusal to the page's error summary."""
