"""The access review form is laid out like the portal's other forms: a label for every input (checkboxes
inside theirs), radio choices in a fieldset with a legend, errors marking their field."""

import re

from django.urls import reverse


def test_create_form_markup(directory, global_admin, verified_client):
    client = verified_client(global_admin)
    page = client.get(reverse("reviews:create")).content.decode()
    assert "css/admin-forms.css" in page
    for name in ("include_users", "include_groups", "include_service_principals", "show_recommendations",
                 "auto_apply", "send_reminders", "require_reason_on_approve"):
        assert re.search(rf'<label class="inline" for="id_{name}"><input type="checkbox" name="{name}"', page), name
    assert "<legend>Reviewers</legend>" in page
    assert re.search(r'<fieldset class="choices"><legend>[^<]+</legend>.*?<label for="id_reviewer_type_0">', page, re.S)
    invalid = client.post(reverse("reviews:create"), {"name": "", "duration_days": "x"}).content.decode()
    assert invalid.count('class="field has-error"') >= 2

