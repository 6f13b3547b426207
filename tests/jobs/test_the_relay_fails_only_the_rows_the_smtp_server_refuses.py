"""A relay batch goes over one SMTP session; a recipient the server refuses for good (550) fails that row
alone, a temporary refusal (450) is retried later, and the rest of the batch is delivered."""

from datetime import timedelta

import time_machine
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone

from notifications.email import email_enqueue
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once

from .conftest import SMTPSink, free_port


class Refusing(SMTPSink):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 — aiosmtpd's hook
        if address.startswith("gone@"):
            return "550 No such user"
        if address.startswith("busy@"):
            return "450 Mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refused_rows_fail_alone_and_temporary_refusals_retry(db, settings):
    sink = Refusing()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 5
        with transaction.atomic():
            email_enqueue(recipients=["a@example.com", "gone@example.com", "busy@example.com", "b@example.com"],
                          template="email/expired", context={"role": "Reader"}, dedupe_key="expired:1")
        assert outbox_relay_once(limit=10) == 2
        assert sorted(to[0] for to, _ in sink.messages) == ["a@example.com", "b@example.com"]
        assert len(set(sink.peers)) == 1  # one session for the batch
        rows = {m.payload["to"]: m for m in OutboxMessage.objects.all()}
        assert rows["gone@example.com"].status == "failed" and "550" in rows["gone@example.com"].last_error
        busy = rows["busy@example.com"]
        assert busy.status == "pending" and busy.attempts == 1 and busy.available_at > timezone.now()
        assert {rows[a].status for a in ("a@example.com", "b@example.com")} == {"delivered"}
        assert outbox_relay_once(limit=10) == 0  # backing off, nothing else due
        with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
            assert outbox_relay_once(limit=10) == 0
        busy.refresh_from_db()
        assert busy.attempts == 2 and busy.status == "pending"
    finally:
        controller.stop()
