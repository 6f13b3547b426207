"""Any mail allauth itself would send (none is sent in the flows the portal uses today) is queued in the
outbox with the portal's `PIM: ` prefix, instead of being sent from the web request."""

from allauth.account.adapter import get_adapter
from allauth.core.context import request_context
from django.core import mail
from django.test import RequestFactory

from notifications.models import OutboxMessage


def test_an_allauth_notice_is_an_outbox_row(directory, requester):
    request = RequestFactory().get("/")
    request.user = requester
    with request_context(request):
        get_adapter(request).send_mail("account/email/password_changed", "requester@example.com",
                                       {"user": requester, "timestamp": None, "ip": "192.0.2.1", "user_agent": "x"})

    assert mail.outbox == []
    [row] = OutboxMessage.objects.filter(channel="email")
    assert row.payload["to"] == "requester@example.com"
    assert row.payload["subject"].startswith("PIM: ")
