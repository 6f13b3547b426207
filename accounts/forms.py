from django import forms


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
