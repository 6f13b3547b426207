from celery import shared_task

from .services import audit_checkpoint_create


@shared_task(name="audit.tasks.audit_checkpoint", autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def audit_checkpoint() -> int | None:
    """Periodic (beat, every PIM_AUDIT_CHECKPOINT_MINUTES): sign the chain's head. A no-op when
    nothing was logged since the last checkpoint."""
    checkpoint = audit_checkpoint_create()
    return checkpoint.pk if checkpoint else None
