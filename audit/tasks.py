from celery import shared_task

from .services import audit_checkpoint_create
from .witness import audit_witness_write


@shared_task(name="audit.tasks.audit_checkpoint", autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def audit_checkpoint() -> int | None:
    """Periodic (beat, every PIM_AUDIT_CHECKPOINT_MINUTES): sign the chain's head. A no-op when
    nothing was logged since the last checkpoint. A new checkpoint goes to the external witness on
    commit; without one, this retries whatever the witness still lacks."""
    checkpoint = audit_checkpoint_create()
    if checkpoint is None:
        audit_witness_write()
    return checkpoint.pk if checkpoint else None


@shared_task(name="audit.tasks.audit_witness")
def audit_witness() -> int:
    """Beat (every PIM_AUDIT_WITNESS_EVERY_SECONDS) and queued after every PIM_AUDIT_WITNESS_EVERY_EVENTS events:
    write the chain head and any checkpoint not yet witnessed to the external witness. No retries of
    its own: a failing sink is logged and the next run (seconds away) tries again."""
    return audit_witness_write()
