"""The token page's two forms: a personal token and a service principal credential. They parse the
input and say every mistake at once; the services decide (and check again)."""

from django import forms

from . import selectors
from .models import ApiToken

LIFETIME_CHOICES = [(7, "7 days"), (30, "30 days"), (90, "90 days"), (180, "180 days"), (365, "1 year")]
NAME_REQUIRED = "Give the token a name, so you recognise it later."


class PersonalTokenForm(forms.Form):
    name = forms.CharField(max_length=100, error_messages={"required": NAME_REQUIRED},
                           widget=forms.TextInput(attrs={"placeholder": "ci-pipeline"}))
    purpose = forms.ChoiceField(required=False, choices=ApiToken.Purpose.choices)
    days = forms.TypedChoiceField(label="Expires after", required=False, coerce=int, empty_value=30,
                                  choices=LIFETIME_CHOICES, initial=30)

    def __init__(self, *args, admin_token_minutes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["purpose"].choices = [
            (ApiToken.Purpose.GENERAL, "General: reads, checks, self-service (lifetime below)"),
            (ApiToken.Purpose.ADMINISTRATION, f"Administration: privileged changes, {admin_token_minutes} minutes"),
        ]
        self.fields["days"].help_text = (f"General tokens only; an administrative token always lives "
                                         f"{admin_token_minutes} minutes.")

    def clean_purpose(self) -> str:
        return self.cleaned_data["purpose"] or ApiToken.Purpose.GENERAL


class ServicePrincipalTokenForm(forms.Form):
    service_principal = forms.ModelChoiceField(queryset=selectors.service_principals_enabled(),
                                               empty_label=None)
    name = forms.CharField(max_length=100, error_messages={"required": NAME_REQUIRED})
    days = forms.TypedChoiceField(label="Expires after", required=False, coerce=int, empty_value=90,
                                  choices=LIFETIME_CHOICES, initial=90)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_sp_%s")
        super().__init__(*args, **kwargs)
        self.fields["service_principal"].label_from_instance = lambda sp: f"{sp.display_name} ({sp.app_id})"


class DeviceCodeForm(forms.Form):
    """The code `pim login` shows, typed (or filled in from its link) on the sign-in approval page."""

    code = forms.CharField(label="Code shown by the command line", max_length=20,
                           help_text="8 letters, like BCDF-GHJK.")

    def clean_code(self):
        from .services import device_user_code_normalise

        code = device_user_code_normalise(self.cleaned_data["code"])
        if not code:
            raise forms.ValidationError("Type the 8 letters the command line shows, like BCDF-GHJK.")
        return code
