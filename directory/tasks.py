"""Thin Celery tasks of the directory intake."""

from celery import shared_task

from assignments.models import User
from core.errors import DomainError

from .ldap_sync import directory_ldif_upload_run, directory_sync_due, directory_sync_run
from .models import DirectoryLdifUpload, DirectorySource


@shared_task(name="directory.tasks.ldap_sync_due")
def ldap_sync_due() -> list[dict]:
    """Run the LDAP / Active Directory sources whose full or incremental run is due. Each run claims
    its source with a conditional update, so overlapping beats never run one source twice; a failed
    run is recorded and alerted, and the next beat tries again when it is due."""
    return [{"source": run.source_id, "run": run.pk, "kind": run.kind, "status": run.status}
            for run in directory_sync_due()]


@shared_task(name="directory.tasks.ldap_sync_run")
def ldap_sync_run(*, source_id: int, kind: str, user_id: int | None = None) -> dict:
    """A run an administrator asked for (*Run now*; checked and audited when it was asked)."""
    source = DirectorySource.objects.filter(pk=source_id).first()
    if source is None:
        return {"source": source_id, "status": "gone"}
    try:
        run = directory_sync_run(source=source, kind=kind, started_by=User.objects.filter(pk=user_id).first())
    except DomainError as error:  # already running: that run is the answer
        return {"source": source_id, "status": "not run", "reason": error.message}
    return {"source": source_id, "run": run.pk, "status": run.status}


@shared_task(name="directory.tasks.ldap_ldif_import", bind=True, max_retries=60, default_retry_delay=60)
def ldap_ldif_import(self, *, upload_id: int) -> dict:
    """An uploaded LDIF file's import (checked and audited when it was uploaded). While another run of
    the source is in progress, it waits for it (retried every minute, for up to an hour)."""
    upload = DirectoryLdifUpload.objects.select_related("source", "uploaded_by").filter(pk=upload_id).first()
    if upload is None:
        return {"upload": upload_id, "status": "gone"}
    try:
        run = directory_ldif_upload_run(upload=upload)
    except DomainError as error:
        if error.code == "conflict":
            raise self.retry(exc=error) from error
        raise
    return {"upload": upload_id, "run": run.pk, "status": run.status}
