from django import forms


class ScimClientForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="The directory that provisions, e.g. “Entra ID production”.")
    description = forms.CharField(max_length=300, required=False)


class ScimTokenForm(forms.Form):
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, initial=90, label="Expires in (days)",
        help_text="Put a reminder in your calendar: provisioning stops when the token expires.")
