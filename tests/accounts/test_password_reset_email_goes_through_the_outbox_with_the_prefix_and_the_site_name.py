"""The reset email is a row in the outbox (written in the request's transaction, delivered by the
relay), its subject starts with `PIM: ` and names the portal by PIM_SITE_NAME (not allauth's
"example.com"), and its link is absolute on PIM_SITE_URL."""

import re

from django.core import mail
from django.test import override_settings
from django.urls import reverse

from notifications.models import OutboxMessage


@override_settings(PIM_PASSWORD_RESET=True, PIM_SITE_NAME="Contoso PIM", SITE_URL="https://pim.contoso.example")
def test_the_link_arrives_through_the_outbox(client, directory, requester, delivered):
    client.post(reverse("account_reset_password"), {"email": "Requester@Example.com"})

    [row] = OutboxMessage.objects.filter(channel="email")
    assert row.payload["template"] == "email/password_reset"
    assert row.payload["to"] == "requester@example.com"
    assert mail.outbox == []  # nothing sent from the web request itself

    [message] = delivered("requester@example.com")
    assert message.subject == "PIM: Reset your Contoso PIM password"
    assert "example.com]" not in message.subject
    [link] = re.findall(r"https://pim\.contoso\.example/accounts/password/reset/key/\S+/", message.body)
    assert "Contoso PIM" in message.alternatives[0][0]
    assert link in message.alternatives[0][0]
