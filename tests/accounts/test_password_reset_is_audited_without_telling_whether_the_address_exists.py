"""Asking for a reset answers the same way whether or not an account has the address, and is audited
either way; setting the new password is audited and announced to the account; the link works once.
Emergency access accounts are never reset by email."""

import re

from django.urls import reverse

from assignments.models import User
from audit.models import AuditEvent


def _ask(client, email):
    return client.post(reverse("account_reset_password"), {"email": email})


def test_known_and_unknown_addresses_get_the_same_answer(client, directory, requester, settings):
    settings.PIM_PASSWORD_RESET = True
    known = _ask(client, "requester@example.com")
    unknown = _ask(client, "nobody@example.com")

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("account_reset_password_done")
    page = client.get(known["Location"]).content.decode()
    assert "If an account of this portal has that address" in page
    events = list(AuditEvent.objects.filter(action="auth.password_reset_request").order_by("pk"))
    assert [(e.target_id, e.target_label) for e in events] == [(str(requester.pk), str(requester)),
                                                                 ("", "nobody@example.com")]
    assert "nothing was sent" in events[1].message


def test_the_new_password_is_audited_announced_and_the_link_works_once(client, directory, requester, delivered,
                                                                     settings):
    settings.PIM_PASSWORD_RESET = True
    _ask(client, "requester@example.com")
    [message] = delivered("requester@example.com")
    link = re.search(r"http\S+/accounts/password/reset/key/\S+/", message.body).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]

    form_url = client.get("/" + path)["Location"]  # allauth moves the key into the session
    response = client.post(form_url, {"password1": "a-new-passphrase-42", "password2": "a-new-passphrase-42"})

    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    requester.refresh_from_db()
    assert requester.check_password("a-new-passphrase-42")
    [done] = AuditEvent.objects.filter(action="auth.password_reset")
    assert done.target_id == str(requester.pk) and done.outcome == AuditEvent.Outcome.SUCCESS
    assert any(m.subject == "PIM: Your PIM portal password was changed" for m in delivered("requester@example.com"))

    again = client.get("/" + path)
    assert again.status_code == 200 and "This link no longer works" in again.content.decode()


def test_emergency_access_accounts_are_not_reset_by_email(client, directory, delivered, settings):
    settings.PIM_PASSWORD_RESET = True
    directory.user("glass", email="glass@example.com")
    User.objects.filter(username="glass").update(is_emergency_access=True)

    assert _ask(client, "glass@example.com").status_code == 302

    assert delivered("glass@example.com") == []
    assert "nothing was sent" in AuditEvent.objects.get(action="auth.password_reset_request").message
