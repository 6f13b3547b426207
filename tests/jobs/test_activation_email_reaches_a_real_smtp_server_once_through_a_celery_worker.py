"""End to end on real components: PostgreSQL, Redis, a `celery -A pim_portal worker` subprocess and
an SMTP server (aiosmtpd). An activation's email is handed to SMTP seconds after the commit, once."""

import time

import pytest
from django.test import override_settings

from notifications import outbox as outbox_module
from notifications.models import OutboxMessage
from notifications.tasks import outbox_relay

from .conftest import wait_until

SMTP = "django.core.mail.backends.smtp.EmailBackend"


def relays_done(log_path) -> int:
    """How many relay runs the worker has finished (from its log)."""
    return sum(1 for line in log_path.read_text().splitlines() if "outbox_relay" in line and "succeeded" in line)


def activation_mails(smtp, address):
    return [m for rcpt, m in smtp.messages if rcpt == [address] and "activated" in m["Subject"]]


@pytest.mark.serial  # a bound on wall-clock latency: measured without another test on the cores
@pytest.mark.django_db(transaction=True)
def test_an_activation_email_reaches_smtp_seconds_after_commit_exactly_once(
        postgres, redis_server, smtp_server, broker, celery_worker_process, directory, policy, activate, tmp_path):
    broker(redis_server.url)
    outbox_module._kick_paused_until = 0.0
    log_path = tmp_path / "worker.log"
    celery_worker_process(broker_url=redis_server.url, smtp_port=smtp_server.port, log_path=log_path)

    with override_settings(EMAIL_BACKEND=SMTP, EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp_server.port):
        requester = directory.user("requester")
        policy("helpdesk-administrator")
        eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")

        committed = time.monotonic()
        request = activate(requester, eligibility)  # commits; the on-commit kick wakes the worker
        wait_until(lambda: activation_mails(smtp_server, "requester@example.com"), timeout=30,
                   what="the activation email at the SMTP server")
        elapsed = time.monotonic() - committed
        assert elapsed < 10, f"handed to SMTP {elapsed:.1f}s after commit"

        # Exactly once: every row delivered, and one more relay run (as the beat would) sends nothing.
        wait_until(lambda: not OutboxMessage.objects.exclude(status=OutboxMessage.Status.DELIVERED).exists(),
                   timeout=30, what="the outbox to drain")
        runs = relays_done(log_path)
        outbox_relay.apply_async()
        wait_until(lambda: relays_done(log_path) > runs, timeout=30, what="another relay run")

    [message] = activation_mails(smtp_server, "requester@example.com")
    assert message["Subject"] == "PIM: You activated Helpdesk Administrator"
    row = OutboxMessage.objects.get(dedupe_key=f"activated:{request.assignment_id}:requester@example.com")
    assert message["X-PIM-Outbox-Id"] == str(row.pk)
    parts = {part.get_content_type(): part for part in message.walk()}
    assert {"text/plain", "text/html"} <= set(parts)
    assert "http" in parts["text/html"].get_payload(decode=True).decode()
