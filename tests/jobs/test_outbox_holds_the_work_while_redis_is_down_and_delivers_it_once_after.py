"""With the broker (Redis) stopped, activations still commit and the outbox holds their emails; when
Redis returns, the worker reconnects, the periodic relay drains the backlog and each email arrives once."""

import time
from collections import Counter

import pytest
from django.test import override_settings

from approvals.models import Request
from notifications import outbox as outbox_module
from notifications.models import OutboxMessage
from notifications.tasks import outbox_relay

from .conftest import wait_until
from .test_activation_email_reaches_a_real_smtp_server_once_through_a_celery_worker import relays_done

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.django_db(transaction=True)
def test_activations_commit_without_redis_and_their_emails_arrive_once_when_it_returns(
        postgres, redis_server, smtp_server, broker, celery_worker_process, directory, policy, activate, tmp_path):
    broker(redis_server.url)
    outbox_module._kick_paused_until = 0.0
    log_path = tmp_path / "worker.log"
    celery_worker_process(broker_url=redis_server.url, smtp_port=smtp_server.port, log_path=log_path)

    with override_settings(EMAIL_BACKEND=SMTP, EMAIL_HOST="127.0.0.1", EMAIL_PORT=smtp_server.port):
        policy("helpdesk-administrator")
        people = [directory.user(f"person{i}") for i in range(3)]
        eligibilities = [directory.grant(p, "helpdesk-administrator", kind="eligible") for p in people]
        wait_until(lambda: not OutboxMessage.objects.exclude(status=OutboxMessage.Status.DELIVERED).exists(),
                   timeout=30, what="the set-up emails to drain")
        before = len(smtp_server.messages)

        redis_server.stop()
        started = time.monotonic()
        requests = [activate(p, e) for p, e in zip(people, eligibilities, strict=True)]
        assert time.monotonic() - started < 10  # a broker outage does not stall the writes
        assert all(r.status == Request.Status.PROVISIONED for r in requests)
        held = OutboxMessage.objects.filter(dedupe_key__startswith="activated:", status=OutboxMessage.Status.PENDING)
        assert held.count() == 3
        assert len(smtp_server.messages) == before

        redis_server.start()
        outbox_module._kick_paused_until = 0.0
        outbox_relay.apply_async()  # the beat's periodic relay, once Redis is back
        wait_until(lambda: not held.exists(), timeout=90, what="the backlog to be delivered after Redis returned")
        runs = relays_done(log_path)
        outbox_relay.apply_async()
        wait_until(lambda: relays_done(log_path) > runs, timeout=30, what="another relay run")

    received = Counter(tuple(rcpt) for rcpt, m in smtp_server.messages[before:] if "activated" in m["Subject"])
    assert received == Counter({(f"person{i}@example.com",): 1 for i in range(3)})
