"""Thin Celery tasks of the directory intake."""

from celery import shared_task

from .ldap_sync import directory_sync_due


@shared_task(name="directory.tasks.ldap_sync_due")
def ldap_sync_due() -> list[dict]:
    """Run the LDAP / Active Directory sources whose full or incremental run is due. Each run claims
    its source with a conditional update, so overlapping beats never run one source twice; a failed
    run is recorded and alerted, and the next beat tries again when it is due."""
    return [{"source": run.source_id, "run": run.pk, "kind": run.kind, "status": run.status}
            for run in directory_sync_due()]
