"""A backlog of expiries is shared by several worker processes: the beat's task takes the first
batch, finds it full and queues `PIM_SWEEP_WORKERS - 1` helpers, which a real prefork worker (two
processes, on Redis) runs beside it. Together they expire every due assignment exactly once, with
one audit event and one email each, and the audit chain stays unbroken."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.models import Assignment
from assignments.tasks import assignments_expire
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from notifications.models import OutboxMessage

from .conftest import wait_until

COUNT = 45
HELPERS = 2


def results(log_path, task: str) -> list[int]:
    """The return values of `task`'s successful runs, from the worker's log."""
    pattern = re.compile(rf"Task assignments\.tasks\.{task}\[[^\]]+\] succeeded in [\d.]+s: (\d+)")
    return [int(match) for match in pattern.findall(log_path.read_text())]


@pytest.mark.django_db(transaction=True)
def test_helpers_on_other_processes_share_the_backlog_and_expire_each_assignment_once(
        postgres, redis_server, broker, celery_worker_process, directory, tmp_path):
    broker(redis_server.url)
    now = timezone.now()
    # Created two hours ago, ended one hour ago: due for the worker, which runs on the real clock.
    with time_machine.travel(now - timedelta(hours=2)):
        due = [directory.grant(directory.user(f"holder{i}"), "helpdesk-administrator", kind="eligible",
                               end=now - timedelta(hours=1)).pk for i in range(COUNT)]
    lasting = directory.grant(directory.user("lasting"), "helpdesk-administrator", kind="eligible",
                              end=now + timedelta(days=3))
    log_path = tmp_path / "worker.log"
    celery_worker_process(broker_url=redis_server.url, log_path=log_path, pool="prefork", concurrency=2,
                          env_extra={"PIM_SWEEP_WORKERS": str(HELPERS + 1), "PIM_VAR_DIR": str(tmp_path)})

    assignments_expire.delay(batch_size=4)
    wait_until(lambda: results(log_path, "assignments_expire") and
               len(results(log_path, "assignments_expire_share")) == HELPERS,
               timeout=60, what="the expiry task and its helpers to finish")

    # Each row was taken by exactly one of them.
    assert sum(results(log_path, "assignments_expire")) + sum(results(log_path, "assignments_expire_share")) == COUNT
    assert set(Assignment.objects.filter(status=Assignment.Status.ENDED, end_reason=Assignment.EndReason.EXPIRED)
               .values_list("pk", flat=True)) == set(due)
    lasting.refresh_from_db()
    assert lasting.status == Assignment.Status.LIVE
    events = sorted(int(pk) for pk in AuditEvent.objects.filter(action="assignment.expire")
                    .values_list("target_id", flat=True))
    assert events == sorted(due)
    emails = sorted(OutboxMessage.objects.filter(channel="email", payload__template="email/expired")
                    .values_list("payload__context__assignment_id", flat=True))
    assert emails == sorted(due)
    verified = audit_chain_verify()
    assert verified.ok, verified.summary()
