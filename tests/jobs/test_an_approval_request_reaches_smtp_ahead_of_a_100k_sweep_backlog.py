"""After an expiry sweep queued 100,000 informational emails, a new approval request still reaches a real
SMTP server within seconds: the relay claims what someone waits on first (its priority), and sends
the approval before the notices, each priority of a claim over its own SMTP sessions. The backlog is
written the way the sweep writes it (one bulk insert, COPY on PostgreSQL); nothing sleeps."""

import time

from django.db import transaction

from notifications.email import email_enqueue, email_enqueue_many
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once

BACKLOG = 100_000
DEADLINE_SECONDS = 30


def _smtp(settings, sink):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", sink.port, 5
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""


def test_a_new_approval_request_reaches_smtp_within_30_seconds_behind_a_100k_backlog(db, settings, smtp_server):
    _smtp(settings, smtp_server)
    context = {"principal": "P", "role": "Reader", "scope": "/", "kind": "eligible assignment", "start": "s",
               "end": "e", "link": "https://pim.example/"}
    with transaction.atomic():
        email_enqueue_many(([f"holder{i}@example.com"], "email/expired", context, f"expired:{i}", None)
                            for i in range(BACKLOG))
    assert OutboxMessage.objects.filter(status="pending").count() == BACKLOG

    started = time.perf_counter()
    with transaction.atomic():
        email_enqueue(recipients=["approver@example.com"], template="email/approval_request",
                      context={"requester": "Alice", "role": "Global Administrator", "scope": "/",
                               "approval_link": "https://pim.example/requests/1/#decide"},
                      dedupe_key="approve:1")
    batches = 0
    while not any("approver@example.com" in to for to, _ in smtp_server.messages):
        assert time.perf_counter() - started < DEADLINE_SECONDS, (
            f"no approval email after {batches} relay batches ({len(smtp_server.messages)} emails sent)")
        outbox_relay_once(limit=200)
        batches += 1
    elapsed = time.perf_counter() - started
    assert elapsed <= DEADLINE_SECONDS
    # Ahead of the backlog: the first email of the first batch.
    assert batches == 1 and smtp_server.messages[0][0] == ["approver@example.com"]
    assert "PIM: " in smtp_server.messages[0][1]["Subject"]
    # The approval over a session of its own, before the 199 notices go over PIM_EMAIL_SMTP_SESSIONS
    # sessions at once; never one session per email.
    sessions = settings.PIM_EMAIL_SMTP_SESSIONS
    assert len(smtp_server.messages) == 200 and len(set(smtp_server.peers)) == 1 + sessions
    assert len(set(smtp_server.peers[1:])) == sessions and smtp_server.peers[0] not in smtp_server.peers[1:]
    print(f"approval request delivered {elapsed:.2f} s after it was queued behind {BACKLOG:,} emails")
