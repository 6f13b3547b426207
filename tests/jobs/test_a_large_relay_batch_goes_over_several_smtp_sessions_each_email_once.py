"""A large relay batch is spread over `PIM_EMAIL_SMTP_SESSIONS` SMTP sessions at once (a session waits
for the server's replies most of the time): every email reaches the real SMTP server exactly once, each
row's outcome is its own (a recipient refused for good fails alone, wherever it falls in the batch),
and each distinct notice is rendered once for the batch, not once per recipient."""

from aiosmtpd.controller import Controller
from django.db import transaction

from notifications import email
from notifications.email import email_enqueue_many
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once

from .conftest import SMTPSink, free_port


class Refusing(SMTPSink):
    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 — aiosmtpd's hook
        if address.startswith("gone"):
            return "550 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_batch_over_four_sessions_delivers_each_email_once_and_renders_each_notice_once(
        db, settings, monkeypatch):
    sink = Refusing()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    renders = []
    real_render = email.email_render

    def counting_render(*, template, context):
        renders.append((template, context.get("assignment_id"), context.get("you", False)))
        return real_render(template=template, context=context)

    monkeypatch.setattr(email, "email_render", counting_render)
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 5
        settings.PIM_EMAIL_SMTP_SESSIONS = 4
        admins = [f"admin{a}@example.com" for a in range(6)]
        items = []
        for row in range(10):  # as the sweep queues them: the holder's copy, and one shared by the admins
            context = {"assignment_id": row, "role": "Reader", "scope": f"/subscriptions/s{row}"}
            holder = f"gone{row}@example.com" if row in (3, 7) else f"holder{row}@example.com"
            items.append(([holder], "email/expired", {**context, "you": True}, f"expired:{row}:you", None))
            items.append((admins, "email/expired", context, f"expired:{row}", None))
        with transaction.atomic():
            assert email_enqueue_many(items) == 70

        assert outbox_relay_once(limit=100) == 68
        received = sorted(to[0] for to, _ in sink.messages)
        expected = sorted([f"holder{row}@example.com" for row in range(10) if row not in (3, 7)]
                          + admins * 10)
        assert received == expected  # each once: 68 emails, 2 refused
        assert len(set(sink.peers)) == 4  # four sessions for the batch
        rows = list(OutboxMessage.objects.all())
        assert sorted(m.payload["to"] for m in rows if m.status == "delivered") == expected
        failed = {m.payload["to"]: m for m in rows if m.status == "failed"}
        assert set(failed) == {"gone3@example.com", "gone7@example.com"}
        assert all("550" in m.last_error for m in failed.values())
        assert len(renders) == len(set(renders)) == 20  # ten notices, two renderings each
        assert outbox_relay_once(limit=100) == 0  # nothing left, nothing sent twice
        assert len(sink.messages) == 68
    finally:
        controller.stop()


def test_a_small_batch_keeps_one_session(db, smtp_server, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", smtp_server.port, 5
    settings.PIM_EMAIL_SMTP_SESSIONS = 4
    with transaction.atomic():
        email_enqueue_many([([f"user{i}@example.com"], "email/expired", {"role": "Reader", "assignment_id": i},
                             f"expired:{i}", None) for i in range(5)])
    assert outbox_relay_once(limit=100) == 5
    assert len(smtp_server.messages) == 5 and len(set(smtp_server.peers)) == 1
