from celery import shared_task
from django.utils import timezone

from .heartbeat import WORKER, heartbeat_record, sent_at_of


@shared_task(name="operations.tasks.heartbeat", bind=True, ignore_result=True, expires=300)
def heartbeat(self) -> None:
    """Beat, every PIM_HEARTBEAT_SECONDS: a worker is alive and reads the queue. Expires after 5 minutes,
    so a backlog of heartbeats queued while no worker ran does not all run when one returns."""
    heartbeat_record(name=WORKER, at=timezone.now(), sent_at=sent_at_of(self.request))


@shared_task(name="operations.tasks.siem_stream", ignore_result=True)
def siem_stream() -> int:
    """Beat, every PIM_SIEM_STREAM_EVERY_SECONDS: send every SIEM consumer the audit events it has not
    confirmed yet. A consumer another streamer holds is skipped; a failing one is retried next run."""
    from .siem import siem_streams_deliver

    return siem_streams_deliver()
