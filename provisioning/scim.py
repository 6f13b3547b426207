"""SCIM provisioning of PIM for Groups memberships, with scim2-client over httpx.

A membership that starts (an activation of an eligible membership, or an active membership assigned
by an administrator) becomes one `ScimOperation` "add" per enabled application of the group, and one
outbox row (channel "scim") delivered at the membership's start. A membership that ends becomes a
"remove". Each delivery converges the peer to PIM's state and is idempotent:

- add: find the user by `userName eq "<username>"`, create it if missing; find the group by
  `externalId eq "<group object id>"` (then by displayName), create it if missing; PATCH-add the member
  unless it is already there. Skipped when the membership has ended by the time it runs.
- remove: PATCH-remove the member if it is there. Skipped while the person still holds another
  active membership of the group.

Network errors, 5xx, 408 and 429 are retried by the relay with backoff; other 4xx fail at once.
The protocol itself (scim2-client over httpx) is in `scim_protocol`, imported on first delivery.
"""

import logging

from django.utils import timezone

from assignments.models import Assignment, Principal, RoleDefinition
from notifications.models import OutboxMessage
from notifications.outbox import PermanentDeliveryError, outbox_enqueue

from .crypto import UnsealError, unseal
from .models import ScimApplication, ScimOperation
from .urlpolicy import outbound_url_problem

logger = logging.getLogger(__name__)

CHANNEL = "scim"
START_EVENTS = {"assignment.created", "assignment.activated", "assignment.renewed"}
END_EVENTS = {"assignment.removed", "assignment.deactivated", "assignment.expired"}


# --- enqueue (inside the change's transaction) ---------------------------------------------------------


def _is_membership(assignment: Assignment) -> bool:
    return (assignment.role.slug == RoleDefinition.GROUP_MEMBER and assignment.scope.group_id is not None
            and assignment.principal.kind == Principal.Kind.USER)


def scim_enqueue(*, name: str, assignment: Assignment, request=None, applications: list[ScimApplication]) -> int:
    """Queue the SCIM work an assignment event causes for the group's enabled `applications`."""
    if not applications or not _is_membership(assignment):
        return 0
    if name in START_EVENTS:
        if assignment.kind != Assignment.Kind.ACTIVE:
            return 0
        return _enqueue(action=ScimOperation.Action.ADD, assignment=assignment, request=request,
                        applications=applications)
    if name == "assignment.updated" and assignment.kind == Assignment.Kind.ACTIVE:
        return _reschedule_adds(assignment=assignment, request=request)
    if name in END_EVENTS:
        if assignment.kind == Assignment.Kind.ACTIVE:
            ended = [assignment]
        else:
            # Ending an eligible membership ends its activations with it (without events of their own).
            ended = list(Assignment.objects.filter(activated_from=assignment, status=Assignment.Status.ENDED,
                                                   end_reason=Assignment.EndReason.ELIGIBILITY_ENDED))
        return sum(_enqueue(action=ScimOperation.Action.REMOVE, assignment=a, request=request,
                            applications=applications) for a in ended)
    return 0


def _enqueue(*, action: str, assignment: Assignment, request, applications: list[ScimApplication]) -> int:
    now = timezone.now()
    not_before = max(assignment.start_at, now) if action == ScimOperation.Action.ADD else now
    correlation_id = getattr(request, "pk", None)
    count = 0
    for application in applications:
        operation, created = ScimOperation.objects.get_or_create(
            application=application, assignment=assignment, action=action,
            defaults={"principal_id": assignment.principal_id, "request": request, "not_before": not_before,
                      "created_at": now},
        )
        if not created:
            continue
        message = outbox_enqueue(channel=CHANNEL, dedupe_key=f"scim:{application.pk}:{assignment.pk}:{action}",
                                 payload={"operation": operation.pk}, available_at=not_before,
                                 correlation_id=correlation_id)
        ScimOperation.objects.filter(pk=operation.pk).update(outbox_message=message)
        count += 1
    return count


def _reschedule_adds(*, assignment: Assignment, request) -> int:
    """The start of a scheduled membership moved: queue its pending adds for the new start (the row
    queued for the old start then finds the membership not started and does nothing)."""
    now = timezone.now()
    count = 0
    for operation in ScimOperation.objects.filter(assignment=assignment, action=ScimOperation.Action.ADD,
                                                  status=ScimOperation.Status.PENDING):
        not_before = max(assignment.start_at, now)
        if operation.not_before == not_before:
            continue
        stamp = int(not_before.timestamp())
        message = outbox_enqueue(channel=CHANNEL,
                                 dedupe_key=f"scim:{operation.application_id}:{assignment.pk}:add:at:{stamp}",
                                 payload={"operation": operation.pk}, available_at=not_before,
                                 correlation_id=getattr(request, "pk", None) or operation.request_id)
        ScimOperation.objects.filter(pk=operation.pk).update(not_before=not_before, outbox_message=message)
        count += 1
    return count


# --- delivery --------------------------------------------------------------------------------------------


def _still_member_through(operation: ScimOperation, now) -> Assignment | None:
    """Another active membership of the same person in the same group, held now."""
    assignment = operation.assignment
    return (Assignment.objects.held_at(now)
            .filter(principal_id=assignment.principal_id, role_id=assignment.role_id,
                    scope_id=assignment.scope_id, kind=Assignment.Kind.ACTIVE)
            .exclude(pk=assignment.pk).first())


def _record(operation_id: int, message: OutboxMessage, **fields) -> None:
    ScimOperation.objects.filter(pk=operation_id).update(attempts=message.attempts, last_attempt_at=timezone.now(),
                                                         **fields)


def deliver_scim(message: OutboxMessage, *, transport=None) -> None:
    """The outbox deliverer of channel "scim". `transport`: an httpx transport (tests, proxies)."""
    from . import scim_protocol as protocol

    operation = (ScimOperation.objects
                 .select_related("application", "application__group", "assignment", "principal", "principal__user")
                 .filter(pk=message.payload.get("operation")).first())
    if operation is None:
        raise PermanentDeliveryError("The operation no longer exists (application deleted).")
    last = message.attempts >= message.max_attempts
    now = timezone.now()
    try:
        application = operation.application
        if not application.enabled:
            raise PermanentDeliveryError("The application is disabled.")
        problem = outbound_url_problem(application.base_url)
        if problem:
            raise PermanentDeliveryError(problem)
        assignment = operation.assignment
        if operation.action == ScimOperation.Action.ADD:
            if not assignment.is_held_at(now) and assignment.start_at <= now:
                _record(operation.pk, message, status=ScimOperation.Status.DONE, done_at=now, last_error="",
                        detail="skipped: the membership ended before it was provisioned")
                return
            if assignment.start_at > now:
                # Its start was moved later: the add is queued again for the new start (_reschedule_adds).
                _record(operation.pk, message,
                        detail=f"waiting for the start at {assignment.start_at:%Y-%m-%d %H:%M} UTC")
                return
        else:
            other = _still_member_through(operation, now)
            if other is not None:
                _record(operation.pk, message, status=ScimOperation.Status.DONE, done_at=now, last_error="",
                        detail=f"skipped: still a member through assignment #{other.pk}")
                return
        try:
            token = unseal(application.token_sealed)
        except UnsealError as error:
            raise PermanentDeliveryError(str(error)) from error
        scim = protocol.scim_client(base_url=application.base_url, token=token, transport=transport)
        try:
            if operation.action == ScimOperation.Action.ADD:
                detail = protocol.scim_add(scim, operation)
                # Ended while we were adding (its remove may already have run and found nothing): undo.
                assignment.refresh_from_db(fields=["status", "start_at", "end_at"])
                now = timezone.now()
                if not assignment.is_held_at(now) and _still_member_through(operation, now) is None:
                    detail += "; the membership ended meanwhile: " + protocol.scim_remove(scim, operation)
            else:
                detail = protocol.scim_remove(scim, operation)
        except protocol.SCIM_ERRORS as error:
            raise protocol.classify(error, scim.last_status) from error
        finally:
            scim.client.close()
        _record(operation.pk, message, status=ScimOperation.Status.DONE, done_at=timezone.now(), last_error="",
                detail=detail[:300])
    except PermanentDeliveryError as error:
        _record(operation.pk, message, status=ScimOperation.Status.FAILED, last_error=str(error)[:2000])
        raise
    except Exception as error:
        _record(operation.pk, message,
                status=ScimOperation.Status.FAILED if last else ScimOperation.Status.PENDING,
                last_error=(str(error) or type(error).__name__)[:2000])
        raise


def scim_application_check(application: ScimApplication) -> str:
    from . import scim_protocol

    return scim_protocol.scim_application_check(application)
