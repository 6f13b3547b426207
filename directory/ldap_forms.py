"""Input shapes of the directory source pages (the services check everything again)."""

from django import forms

from .ldap_sync import CONFIG_FIELDS, directory_source_problems
from .models import DirectorySource

HELP = {
    "url": "ldaps://dc1.corp.example.com (port 636) or ldap://… with StartTLS. Empty: this source only imports "
           "LDIF files.",
    "start_tls": "Upgrade an ldap:// connection to TLS before binding.",
    "ca_certificate": "The PEM certificate of the CA that signed the server's certificate (your enterprise CA). "
                      "Empty: the system's trusted CAs. Certificates are always verified.",
    "bind_dn": "A read-only service account, e.g. CN=svc-pim,OU=Service Accounts,DC=corp,DC=example,DC=com.",
    "base_dns": "One a line; users and groups are searched in each (subtree).",
    "user_filter": "Which entries are users.",
    "group_filter": "Which entries are groups.",
    "user_id_attribute": "A stable, unique id: objectGUID (AD) or entryUUID (OpenLDAP).",
    "username_attribute": "The username in the portal: sAMAccountName (AD) or uid.",
    "email_fallback_attribute": "Used when the email attribute is empty: userPrincipalName (AD).",
    "member_attribute": "Its values are the members' DNs (member, uniqueMember).",
    "disabled_attribute": "userAccountControl in AD; empty when the directory has no disabled flag.",
    "disabled_value": "The bit mask (2: ACCOUNTDISABLE) or the value that means disabled.",
    "change_attribute": "What incremental runs compare with the last run's watermark.",
    "page_size": "Entries per page of the paged search (at most the server's MaxPageSize, 1000 in AD).",
    "full_every_minutes": "Full runs also disable the users who left the directory.",
    "incremental_every_minutes": "Entries changed since the last run. 0: none between full runs.",
    "min_entries_percent": "A full run or import that reads fewer entries than this share of the last successful "
                           "one changes nothing and raises an incident. 0: never refuse.",
}


class DirectorySourceForm(forms.ModelForm):
    password = forms.CharField(label="Bind password", required=False, strip=False,
                               widget=forms.PasswordInput(render_value=False))
    remove_password = forms.BooleanField(label="Remove the stored password", required=False)

    class Meta:
        model = DirectorySource
        fields = list(CONFIG_FIELDS)
        widgets = {"base_dns": forms.Textarea(attrs={"rows": 3}),
                   "ca_certificate": forms.Textarea(attrs={"rows": 4, "class": "mono"})}
        labels = {"url": "Server URL", "start_tls": "Use StartTLS", "ca_certificate": "CA certificate",
                  "bind_dn": "Bind DN", "base_dns": "Base DNs", "user_id_attribute": "User id attribute",
                  "email_fallback_attribute": "Email fallback attribute",
                  "display_name_attribute": "Display name attribute", "group_id_attribute": "Group id attribute",
                  "group_name_attribute": "Group name attribute", "disabled_mode": "Disabled when",
                  "change_attribute": "Change marker", "timeout_seconds": "Timeout (seconds)",
                  "full_every_minutes": "Full run every (minutes)",
                  "incremental_every_minutes": "Incremental run every (minutes)",
                  "min_entries_percent": "Minimum share of the last run's entries (%)"}
        help_texts = HELP

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.fields["preset"].help_text = ("Fills in the filters and the attribute mapping when you add a source."
                                           if not editing else "")
        if editing:
            self.fields["password"].label = "Replace the bind password"
            self.fields["password"].help_text = "Leave empty to keep the stored password."
        else:
            del self.fields["remove_password"]
            self.fields["password"].help_text = "Stored encrypted and never shown again."

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("remove_password"):
            self.add_error("password", "Either replace the password or remove it, not both.")
        _, problems = directory_source_problems(self.values)
        for field, message in problems:
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
        return data

    @property
    def values(self) -> dict:
        return {name: self.cleaned_data[name] for name in CONFIG_FIELDS if name in self.cleaned_data}

    @property
    def password_change(self) -> str | None:
        """None keeps the stored password, "" removes it, a value replaces it."""
        if self.cleaned_data.get("remove_password"):
            return ""
        return self.cleaned_data.get("password") or None


class LdifImportForm(forms.Form):
    file = forms.FileField(label="LDIF file", help_text="Content records, as `ldapsearch -LLL` or `ldifde -f` "
                                                        "write them (UTF-8, at most 100 MB).")
