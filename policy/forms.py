from django import forms

from governance.forms import WhatIfForm

from .registry import KINDS

REASON_HELP = "Recorded with the change: the version history and the audit log show it."


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Why", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}),
                             help_text=REASON_HELP)


class CommentForm(forms.Form):
    comment = forms.CharField(label="Comment", max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}),
                              help_text="Required to reject: say why.")


class DualControlForm(forms.Form):
    scope = forms.CharField(label="Scope path", max_length=512,
                            help_text="Dual control applies at this scope and below: /, or /subscriptions/…")


class ProposeForm(forms.Form):
    kind = forms.ChoiceField(label="Kind of configuration")
    key = forms.CharField(label="Item", max_length=700,
                          help_text="role@scope for a role setting; target|role@scope|grant for a mapping; the alert "
                                    "key; a scope path for dual control.")
    data = forms.CharField(label="New state (YAML)", widget=forms.Textarea(attrs={"rows": 14, "class": "mono"}),
                           required=False, help_text="The item's whole new state; empty to remove it.")
    reason = forms.CharField(label="Why", max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k.name, k.label) for k in KINDS.values()]


class ProposalWhatIfForm(WhatIfForm):
    """The what-if's questions, under the proposal the page shows (not a policy typed in)."""

    proposed_scope = None
    proposed_values = None


class DocumentForm(forms.Form):
    document = forms.CharField(label="Configuration (YAML)", widget=forms.Textarea(attrs={"rows": 18,
                                                                                      "class": "mono"}),
                               max_length=5_000_000, required=False)
    upload = forms.FileField(label="Or upload a YAML file", required=False)
    reason = forms.CharField(label="Why (to apply)", max_length=2000, required=False,
                             widget=forms.Textarea(attrs={"rows": 2}), help_text=REASON_HELP)
    prune = forms.BooleanField(label="Prune", required=False,
                               help_text="Also delete the eligibility, connector mappings, approval stages and dual "
                                         "control the document does not list.")

    def text(self) -> str:
        upload = self.cleaned_data.get("upload")
        if upload:
            return upload.read(5_000_001).decode("utf-8", errors="replace")
        return self.cleaned_data.get("document") or ""
