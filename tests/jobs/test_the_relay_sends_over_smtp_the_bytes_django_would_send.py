"""Over SMTP the relay writes each email's bytes itself (the parts a notice's recipients share are made
once): they are the bytes Django's SMTP backend sends for the same email, header for header and part for
part (written directly for notices, by Django's classes for a text it would encode otherwise), whatever
the subject, the recipient or the body hold; only the Date, the Message-ID and the MIME boundary (new for
every email either way) differ. And a real SMTP server receives them as such."""

import json
import re

import pytest
from aiosmtpd.controller import Controller
from django.core.mail.message import sanitize_address
from django.db import transaction

from notifications import email
from notifications.email import email_bytes, email_enqueue_many, email_message
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once

from .conftest import free_port

LONG = "Reader on " + "/subscriptions/s1/resourceGroups/" * 4 + "rg-with-a-long-name"
PAYLOADS = [
    {"to": "holder1@example.com", "template": "email/expired",
     "context": {"assignment_id": 1, "role": "Reader", "scope": "/subscriptions/s1", "you": True}},
    {"to": "admin.two+pim@example.com", "template": "email/expired",
     "context": {"assignment_id": 2, "role": LONG, "scope": "/", "principal": "Zoë Ångström"}},
    {"to": "Jörg Müller <jorg@example.com>", "subject": "PIM: Grüße, " + "ä" * 60, "text": "Zeile\n" * 3,
     "html": "<p>é</p>"},
    {"to": "jörg@exämple.de", "subject": "PIM: plain", "text": "no html part", "html": None},
    {"to": "\"odd..name\"@example.com", "subject": "PIM: " + "word " * 30, "text": "x" * 1200, "html": None},
]


def _normalised(data: bytes) -> bytes:
    data = re.sub(rb"\r\nDate: [^\r]*", b"\r\nDate: D", data)
    data = re.sub(rb"\r\nMessage-ID: <[^>]*>", b"\r\nMessage-ID: M", data)
    return re.sub(rb"={15}\d+==", b"BOUNDARY", data)


@pytest.mark.parametrize("payload", PAYLOADS, ids=range(len(PAYLOADS)))
def test_the_relay_writes_the_bytes_django_writes(payload):
    message = OutboxMessage(pk=41, channel="email", payload=payload)
    django_mail = email_message(message)
    expected = django_mail.message().as_bytes(linesep="\r\n")

    to, data = email_bytes(message, rendered={}, mime={})

    assert to == sanitize_address(payload["to"], "utf-8")
    assert _normalised(data) == _normalised(expected)
    assert b"\r\nX-PIM-Outbox-Id: %d\r\n" % message.pk in data


def test_notices_are_written_directly_and_a_text_django_would_encode_otherwise_by_django():
    direct = [email._mime_composed(*email._rendered(p, None) if "template" in p else
                                   (p["subject"], p["text"], p["html"])) for p in PAYLOADS]
    assert [d is not None for d in direct] == [True, True, True, True, False]  # the last: a 1,200-byte line


def test_recipients_of_one_notice_share_its_parts_and_keep_their_own_headers():
    rows = [OutboxMessage(pk=n, channel="email", payload={**PAYLOADS[1], "to": to})
            for n, to in enumerate(["a@example.com", "b@example.com"])]
    rendered, mime = {}, {}
    (to_a, a), (to_b, b) = (email_bytes(row, rendered=rendered, mime=mime) for row in rows)
    assert len(rendered) == len(mime) == 1
    assert (to_a, to_b) == ("a@example.com", "b@example.com")
    assert b"\r\nTo: a@example.com\r\n" in a and b"\r\nTo: b@example.com\r\n" in b
    assert a.split(b"\r\n\r\n", 1)[1] == b.split(b"\r\n\r\n", 1)[1]
    assert re.search(rb"Message-ID: (<[^>]*>)", a)[1] != re.search(rb"Message-ID: (<[^>]*>)", b)[1]


class RawSink:
    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        self.received.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 OK"


def test_a_real_smtp_server_receives_the_relayed_bytes_as_the_email(db, settings):
    sink = RawSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 5
        with transaction.atomic():
            email_enqueue_many([(["a@example.com", "b@example.com"], "email/expired",
                                 {"assignment_id": 7, "role": "Reader", "scope": "/", "principal": "Zoë"},
                                 "x:7", None)])
        assert outbox_relay_once(limit=10) == 2
    finally:
        controller.stop()
    assert sorted(to for to, _ in sink.received) == [["a@example.com"], ["b@example.com"]]
    for row in OutboxMessage.objects.all():
        expected = _normalised(email_message(row).message().as_bytes(linesep="\r\n"))
        assert [_normalised(data) for to, data in sink.received if to == [row.payload["to"]]] == [expected]


def test_a_sealed_row_is_opened_for_its_bytes_as_for_djangos_message():
    """A row that carries a secret waits sealed (`email_enqueue(sealed=True)`); over SMTP its bytes are
    written from the opened payload, so the email says what Django's message of the same row says."""
    from core.crypto import seal

    opened = {"to": "carol@example.com", "subject": "PIM: your enrolment code", "text": "Code 482913", "html": None}
    row = OutboxMessage(pk=7, channel="email",
                        payload={"to": opened["to"], "sealed": seal(json.dumps(
                            {key: value for key, value in opened.items() if key != "to"}))})

    to, data = email_bytes(row, rendered={}, mime={})

    assert to == "carol@example.com" and b"Code 482913" in data
    expected = email_message(row).message().as_bytes(linesep="\r\n")
    assert _normalised(data) == _normalised(expected)
