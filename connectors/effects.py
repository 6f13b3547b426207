"""Effects: each transition's grant or revoke in each mapped target, queued in the transition's
transaction and applied exactly once by the outbox relay (channel "connector").

Enqueue (a domain-event subscriber, inside the service's transaction). An assignment event concerns:
- mappings of the assignment's role at its scope or below (the access check grants a role at a scope to
  holders at the scope or above), for the assignment's user — or, for a group's assignment, each user
  who is an active member of the group;
- for a group membership (the Member role at a group's scope): also the mappings of every role the
  group holds, for that user.
Each (mapping, user) gets one `Effect` row and one outbox row per transition: the unique key
(mapping, user, assignment, action, transition) keeps one when the same ending reaches us twice (an
activation ended with its eligibility, and announced).

Deliver (the relay). The effect converges the target to what the access check says *at delivery*:
a grant of a role no longer held is skipped; a revoke while the user still holds the role through
another assignment is skipped. The connector's grant and revoke are idempotent, so a worker that died
after the target changed and before the acknowledgement leaves a row that is claimed again when its
lease runs out and finds the grant already there ("already a member"): no duplicate, none missing.
A grant that went through while the role ended (its revoke ran before and found nothing) is undone.

Event deliveries (webhook targets, `connectors.webhooks`): the effect is one signed POST of its fixed
body; 2xx is done, 5xx/408/429/timeouts are retried with the relay's backoff, any other answer fails it
at once, its status code and error kept; nothing is checked against the access check.

Failures: unreachable targets are retried with backoff; refusals (bad credentials, unknown group) fail
a grant at once with the error kept, while a revoke keeps being retried until the target confirms it
(an ending is never lost); the `connector_effects_overdue` alert raises a high-severity incident for
revokes still unconfirmed past its threshold. A failure never reaches the relay's other rows.
"""

import contextvars
import json
import logging
import threading
import time

from django.db import connection, transaction
from django.db.models.constants import OnConflict
from django.utils import timezone

from assignments.access import Grant, access_find_grant, access_role_holders
from assignments.models import Assignment, Principal, RoleDefinition
from core import domain_events
from core.crypto import UnsealError, unseal
from notifications.models import OutboxMessage
from notifications.outbox import PermanentDeliveryError, outbox_enqueue

from .kinds import KINDS, ConnectorError
from .models import Effect, Mapping, Target

logger = logging.getLogger(__name__)

CHANNEL = "connector"
GRANT_MAX_ATTEMPTS = 12
# Revokes are retried until confirmed: with the relay's backoff capped at an hour this is over a year.
REVOKE_MAX_ATTEMPTS = 10_000
EVENT_MAX_ATTEMPTS = 8


def effect_max_attempts(action: str) -> int:
    """How many times the relay tries an effect of `action` before it fails it."""
    return {Effect.Action.GRANT: GRANT_MAX_ATTEMPTS, Effect.Action.EVENT: EVENT_MAX_ATTEMPTS}.get(
        action, REVOKE_MAX_ATTEMPTS)

START_EVENTS = {"assignment.created", "assignment.activated", "assignment.renewed"}
END_EVENTS = {"assignment.removed", "assignment.deactivated", "assignment.expired"}
MOVE_EVENTS = {"assignment.updated", "assignment.extended"}


class RetryLater(Exception):
    """The target could not be reached or refused an ending for now; the relay retries with backoff."""


# --- enqueue ---------------------------------------------------------------------------------------------


def _mappings_below(role_id: int, scope_id: int):
    return (Mapping.objects.filter(enabled=True, target__enabled=True, role_id=role_id,
                                   scope__ancestor_links__ancestor_id=scope_id)
            .select_related("target"))


def _group_member_ids(group_id: int) -> list[int]:
    """Users with a live active membership of the group (whether it has started is decided at delivery)."""
    return list(Assignment.objects.filter(
        role__slug=RoleDefinition.GROUP_MEMBER, scope__group_id=group_id, kind=Assignment.Kind.ACTIVE,
        status=Assignment.Status.LIVE, principal__kind=Principal.Kind.USER).values_list("principal_id", flat=True))


def affected_pairs(assignment: Assignment) -> list[tuple[Mapping, int]]:
    """(mapping, user principal id) pairs whose holding an event of `assignment` may change."""
    principal = assignment.principal
    pairs: dict[tuple[int, int], tuple[Mapping, int]] = {}
    direct = list(_mappings_below(assignment.role_id, assignment.scope_id))
    if principal.kind == Principal.Kind.USER:
        users = [principal.pk]
    elif principal.kind == Principal.Kind.GROUP:
        users = _group_member_ids(principal.pk) if direct else []
    else:
        users = []  # service principals have no account in a target
    for mapping in direct:
        for user_id in users:
            pairs[(mapping.pk, user_id)] = (mapping, user_id)
    if (principal.kind == Principal.Kind.USER and assignment.role.slug == RoleDefinition.GROUP_MEMBER
            and assignment.scope.group_id is not None):
        held = (Assignment.objects.filter(principal_id=assignment.scope.group_id, kind=Assignment.Kind.ACTIVE,
                                          status=Assignment.Status.LIVE).values_list("role_id", "scope_id"))
        for role_id, scope_id in set(held):
            for mapping in _mappings_below(role_id, scope_id):
                pairs[(mapping.pk, principal.pk)] = (mapping, principal.pk)
    return list(pairs.values())


def _stamp(at) -> str:
    return str(int(at.timestamp())) if at else "none"


_EFFECT_FIELDS = [f for f in Effect._meta.concrete_fields if not f.primary_key]


def _effect_get_or_create(*, mapping: Mapping, principal_id: int, assignment: Assignment, action: str,
                          transition: str, **fields) -> tuple[Effect, bool]:
    """The effect of (mapping, user, assignment, action, transition), created if new: one INSERT … ON
    CONFLICT DO NOTHING RETURNING id, then a read only if it existed. Not `get_or_create`, which opens a
    savepoint per call: a bulk load queues thousands in one transaction, and PostgreSQL slows every later
    statement of a transaction past 64 subtransactions."""
    effect = Effect(mapping=mapping, principal_id=principal_id, assignment=assignment, action=action,
                    transition=transition, **fields)
    returned = Effect.objects._insert([effect], fields=_EFFECT_FIELDS, returning_fields=[Effect._meta.pk],
                                      on_conflict=OnConflict.IGNORE)
    if returned and returned[0] and returned[0][0] is not None:
        effect.pk = returned[0][0]
        effect._state.adding = False
        return effect, True
    return Effect.objects.get(mapping=mapping, principal_id=principal_id, assignment=assignment, action=action,
                              transition=transition), False


def _enqueue(*, mapping: Mapping, principal_id: int, assignment: Assignment, request, action: str,
             transition: str, not_before, grant: str = "") -> Effect | None:
    now = timezone.now()
    effect, created = _effect_get_or_create(
        mapping=mapping, principal_id=principal_id, assignment=assignment, action=action, transition=transition[:80],
        target_id=mapping.target_id, request=request, queued_at=now, not_before=not_before, grant=grant)
    if not created:
        return None
    message = outbox_enqueue(
        channel=CHANNEL, dedupe_key=f"connector:{effect.pk}", payload={"effect": effect.pk},
        available_at=not_before, correlation_id=getattr(request, "pk", None),
        max_attempts=GRANT_MAX_ATTEMPTS if action == Effect.Action.GRANT else REVOKE_MAX_ATTEMPTS)
    Effect.objects.filter(pk=effect.pk).update(outbox_message=message)
    return effect


def _revoke_message(effect: Effect, at, request) -> OutboxMessage:
    """One outbox row for the revoke `effect`, due `at`. A moved end gets a new row (its own key): the
    row queued for the old end then finds the effect rescheduled and does nothing."""
    message = outbox_enqueue(
        channel=CHANNEL, dedupe_key=f"connector:{effect.pk}:at:{_stamp(at)}", payload={"effect": effect.pk},
        available_at=at, correlation_id=getattr(request, "pk", None) or effect.request_id,
        max_attempts=REVOKE_MAX_ATTEMPTS)
    Effect.objects.filter(pk=effect.pk).update(not_before=at, outbox_message=message)
    return message


def _schedule_revoke(*, mapping: Mapping, principal_id: int, assignment: Assignment, request, at) -> bool:
    """The revoke of `assignment`'s end (transition "ended"), due `at`: queued when the grant is, so the
    target loses the grant at the end whether or not the expiry sweep has run; moved when the end moves.
    The sweep's (or a removal's) own ending later finds this row and queues nothing more."""
    effect, created = _effect_get_or_create(
        mapping=mapping, principal_id=principal_id, assignment=assignment, action=Effect.Action.REVOKE,
        transition="ended", target_id=mapping.target_id, request=request, queued_at=timezone.now(), not_before=at)
    if created:
        _revoke_message(effect, at, request)
        return True
    if effect.status == Effect.Status.SKIPPED and effect.detail == NO_LONGER_ENDS:
        Effect.objects.filter(pk=effect.pk).update(status=Effect.Status.QUEUED, detail="")
    elif effect.status != Effect.Status.QUEUED or effect.not_before == at:
        return False
    elif effect.not_before <= at <= timezone.now():
        return False  # already due (its end passed and the sweep now reports it): its row applies it
    _revoke_message(effect, at, request)
    return True


NO_LONGER_ENDS = "not needed: the assignment no longer ends"


def _unschedule_revokes(assignment: Assignment) -> int:
    """The end was taken away (made permanent): its revoke, not yet due, is no longer needed."""
    return Effect.objects.filter(assignment=assignment, action=Effect.Action.REVOKE, transition="ended",
                                 status=Effect.Status.QUEUED, not_before__gt=timezone.now()).update(
        status=Effect.Status.SKIPPED, detail=NO_LONGER_ENDS)


def _end_moved(assignment: Assignment, request) -> int:
    """Schedule (or move, or drop) the revoke of a live active assignment's end."""
    if assignment.kind != Assignment.Kind.ACTIVE or assignment.status != Assignment.Status.LIVE:
        return 0
    if assignment.end_at is None:
        return _unschedule_revokes(assignment)
    at = max(assignment.end_at, timezone.now())
    return sum(_schedule_revoke(mapping=mapping, principal_id=user_id, assignment=assignment, request=request, at=at)
               for mapping, user_id in affected_pairs(assignment))


def effects_enqueue(*, name: str, assignment: Assignment, request=None) -> int:
    """Queue the effects one assignment event causes (inside the caller's transaction): the grant of a
    start, with the revoke of its end when it has one (due at the end); the revoke moved when the end
    moves (extend, shorten); the revoke due now when it ends early (deactivation, removal)."""
    now = timezone.now()
    if name == "assignment.extended":
        return _end_moved(assignment, request)
    if name in START_EVENTS or name == "assignment.updated":
        if assignment.kind != Assignment.Kind.ACTIVE or assignment.status != Assignment.Status.LIVE:
            return 0
        if assignment.end_at is not None and assignment.end_at <= now:
            return 0
        transition = "started" if name in {"assignment.created", "assignment.activated"} else \
            f"{name.split('.', 1)[1]}:{_stamp(assignment.start_at)}:{_stamp(assignment.end_at)}"
        not_before = max(assignment.start_at, now)
        count = sum(_enqueue(mapping=mapping, principal_id=user_id, assignment=assignment, request=request,
                             action=Effect.Action.GRANT, transition=transition, not_before=not_before) is not None
                    for mapping, user_id in affected_pairs(assignment))
        return count + _end_moved(assignment, request)
    if name in END_EVENTS:
        if assignment.kind == Assignment.Kind.ACTIVE:
            ended = [assignment]
        else:
            # Ending an eligibility ends its activations with it; their revokes share the key "ended".
            ended = list(Assignment.objects.select_related("principal", "role", "scope").filter(
                activated_from=assignment, status=Assignment.Status.ENDED,
                end_reason=Assignment.EndReason.ELIGIBILITY_ENDED))
        count = 0
        for active in ended:
            for mapping, user_id in affected_pairs(active):
                # Its revoke may be scheduled for a later end already: it is due now.
                count += _schedule_revoke(mapping=mapping, principal_id=user_id, assignment=active,
                                          request=request, at=now)
        return count
    return 0


def mapping_holders(mapping: Mapping) -> dict[int, Grant]:
    """user principal id → the assignment through which each user holds `mapping`'s role at its scope
    now (the access check's set form, then one decision per holder for its assignment and end)."""
    rows = access_role_holders(role_slugs=[mapping.role.slug], scope=mapping.scope_id)
    held = {}
    for row in rows:
        if row.kind == Principal.Kind.USER:
            grant = access_find_grant(principal=row.pk, role=mapping.role_id, scope=mapping.scope_id)
            if grant is not None:
                held[row.pk] = grant
    return held


def _starting_later(mapping: Mapping, now) -> list[Assignment]:
    """Users' live active assignments of the mapping's role at its scope or above that start later (their
    holders are not holders yet, and no effect of this mapping is queued for their start)."""
    return list(Assignment.objects.filter(
        role_id=mapping.role_id, scope__descendant_links__descendant_id=mapping.scope_id,
        kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE, start_at__gt=now,
        principal__kind=Principal.Kind.USER).select_related("principal", "role", "scope"))


def effects_remap(*, mapping: Mapping, before: dict[int, Grant], old_grant: str, old_role_scope: tuple[int, int]
                  ) -> int:
    """An edit of `mapping` (inside its transaction, after the row is saved): queue what makes the target
    follow it. `before` is `mapping_holders` under the old role and scope, `old_grant` the old grant.
    A changed grant: every previous holder's old grant is revoked (the effect names it) and every holder
    now gets the new one. The same grant at another role or scope: only the holders who lose it are
    revoked and only those who gain it are granted. Each new grant gets the revoke of its end. The
    delivery still converges on the access check (a revoke of someone who still holds it is skipped)."""
    now = timezone.now()
    transition = f"remapped:{int(now.timestamp() * 1_000_000)}"
    grant_changed = mapping.grant != old_grant
    moved = (mapping.role_id, mapping.scope_id) != old_role_scope
    if not (grant_changed or moved):
        return 0
    after = mapping_holders(mapping)
    count = 0
    for user_id, held in before.items():
        if grant_changed or user_id not in after:
            count += _enqueue(mapping=mapping, principal_id=user_id, assignment=Assignment(pk=held.assignment_id),
                              request=None, action=Effect.Action.REVOKE, transition=transition, not_before=now,
                              grant=old_grant if grant_changed else "") is not None
    for user_id, held in after.items():
        if grant_changed or user_id not in before:
            assignment = Assignment(pk=held.assignment_id)
            count += _enqueue(mapping=mapping, principal_id=user_id, assignment=assignment, request=None,
                              action=Effect.Action.GRANT, transition=transition, not_before=now) is not None
            if held.end_at is not None:
                count += _schedule_revoke(mapping=mapping, principal_id=user_id, assignment=assignment, request=None,
                                          at=max(held.end_at, now))
    if moved:
        for assignment in _starting_later(mapping, now):
            count += _enqueue(mapping=mapping, principal_id=assignment.principal_id, assignment=assignment,
                              request=None, action=Effect.Action.GRANT, transition=transition,
                              not_before=assignment.start_at) is not None
            if assignment.end_at is not None:
                count += _schedule_revoke(mapping=mapping, principal_id=assignment.principal_id,
                                          assignment=assignment, request=None, at=assignment.end_at)
    return count


def _configured(memo) -> bool:
    if memo is not None and "connectors" in memo:
        return memo["connectors"]
    configured = Mapping.objects.filter(enabled=True, target__enabled=True).exists()
    if memo is not None:
        memo["connectors"] = configured
    return configured


def connectors_on_domain_event(*, name: str, assignment: Assignment | None = None, request=None, **_: object) -> None:
    """The domain-event subscriber. One query when no mapping is configured. A failure to queue is
    logged and rolled back to a savepoint; the caller's change goes on (reconciliation finds what
    was missed)."""
    if assignment is None or (name not in START_EVENTS and name not in END_EVENTS and name not in MOVE_EVENTS):
        return
    try:
        if not _configured(domain_events.batch_memo()):
            return
        with transaction.atomic():
            effects_enqueue(name=name, assignment=assignment, request=request)
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Connectors: could not queue effects for %s of assignment %s", name,
                         getattr(assignment, "pk", None))


def _reaching(batch) -> list[int]:
    """The ids of the batch's rows that reach an enabled mapping, in three queries whatever the number
    of rows: an assignment at (role, scope) reaches the mappings of that role at the scope or below; a
    group membership also reaches those of every role its group holds (`affected_pairs`, as a set)."""
    pairs = set(Mapping.objects.filter(enabled=True, target__enabled=True)
                .values_list("role_id", "scope__ancestor_links__ancestor_id"))
    if not pairs:
        return []
    member_roles = {pk for pk, role in batch.roles.items() if role.slug == RoleDefinition.GROUP_MEMBER}
    groups = {batch.scopes[row.scope_id].group_id for row in batch.rows if row.role_id in member_roles}
    groups.discard(None)
    reaching_groups = {principal_id for principal_id, role_id, scope_id in Assignment.objects.filter(
        principal_id__in=groups, kind=Assignment.Kind.ACTIVE, status=Assignment.Status.LIVE,
    ).values_list("principal_id", "role_id", "scope_id") if (role_id, scope_id) in pairs} if groups else set()
    return [row.pk for row in batch.rows if (row.role_id, row.scope_id) in pairs
            or (row.role_id in member_roles and batch.scopes[row.scope_id].group_id in reaching_groups)]


def connectors_on_domain_events_many(*, name: str, batch) -> None:
    """The set-based form (the expiry sweep, a directory load): the rows that reach no mapping are left
    out with a few queries for the whole batch (`_reaching`); the others queue their effects like single
    events, all in one savepoint (not one per row: PostgreSQL slows every later statement of a
    transaction that opened more than 64 subtransactions). A failure is logged and rolls back the
    batch's effects only; the caller's change goes on (reconciliation finds what was missed)."""
    if name not in START_EVENTS and name not in END_EVENTS and name not in MOVE_EVENTS:
        return
    try:
        ids = _reaching(batch)
        if not ids:
            return
        with transaction.atomic(), domain_events.batch():
            for assignment in (Assignment.objects.select_related("principal", "role", "scope")
                               .filter(pk__in=ids).order_by("pk")):
                effects_enqueue(name=name, assignment=assignment)
    except Exception:  # noqa: BLE001 — never break the caller's change over a side effect
        logger.exception("Connectors: could not queue effects for %s (%d rows)", name, len(batch.rows))


# --- delivery --------------------------------------------------------------------------------------------


def _record(effect_id: int, message: OutboxMessage, **fields) -> None:
    Effect.objects.filter(pk=effect_id).update(attempts=message.attempts, last_attempt_at=timezone.now(), **fields)


def _record_applied(applied: list[tuple[int, OutboxMessage, str, object]]) -> None:
    """The acknowledgement: the targets confirmed these effects, each (effect id, message, detail, when).
    One transaction for a relay's batch — on PostgreSQL one UPDATE … FROM (VALUES …) — not a commit per
    effect (Django's bulk_update builds a CASE per field and row, slower than the grants themselves).
    (Tests kill the worker right here.)"""
    if not applied:
        return
    now = timezone.now()
    with transaction.atomic():
        if connection.vendor != "postgresql":
            for effect_id, message, detail, at in applied:
                Effect.objects.filter(pk=effect_id).update(status=Effect.Status.DONE, applied_at=at, last_error="",
                                                           detail=detail[:300], attempts=message.attempts,
                                                           last_attempt_at=now)
            return
        table = connection.ops.quote_name(Effect._meta.db_table)
        values = ", ".join(["(%s::bigint, %s::integer, %s::timestamptz, %s::varchar)"] * len(applied))
        params = [item for effect_id, message, detail, at in applied
                  for item in (effect_id, message.attempts, at, detail[:300])]
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS e SET status = %s, applied_at = v.applied_at, last_error = '', "  # noqa: S608
                f"detail = v.detail, attempts = v.attempts, last_attempt_at = %s "
                f"FROM (VALUES {values}) AS v(id, attempts, applied_at, detail) WHERE e.id = v.id",
                [Effect.Status.DONE, now, *params])


def _target_status(target_id: int, status: str, message: str) -> None:
    Target.objects.filter(pk=target_id).update(status=status, status_message=message[:2000], status_at=timezone.now())


def effect_session(target: Target):
    """An open session on `target` (raises ConnectorError; UnsealError becomes a refusal)."""
    from .kinds import ConnectorRefused

    kind = KINDS.get(target.kind)
    if kind is None:
        raise ConnectorRefused(f"Unknown connector type {target.kind!r}.")
    try:
        secret = unseal(target.secret_sealed)
    except UnsealError as error:
        raise ConnectorRefused(str(error)) from error
    return kind.open(config=target.config, secret=secret)


# Open sessions per relay thread, reused across effects of the same target for a short while: a grant is
# then one round trip, not a connection and a bind each time. Keyed by what the session was opened with,
# so a changed configuration or secret opens a new one; dropped on any connector error.
SESSION_IDLE_SECONDS = 60
_sessions = threading.local()


def _session_key(target: Target) -> tuple:
    return (target.pk, target.kind, json.dumps(target.config, sort_keys=True, default=str), target.secret_sealed)


def _cached_session(target: Target):
    cache = getattr(_sessions, "by_target", None)
    if cache is None:
        cache = _sessions.by_target = {}
    key = _session_key(target)
    held = cache.get(target.pk)
    now = time.monotonic()
    if held is not None and (held[0] != key or now - held[2] > SESSION_IDLE_SECONDS):
        _forget_session(target.pk)
        held = None
    if held is None:
        held = (key, effect_session(target), now)
    cache[target.pk] = (held[0], held[1], now)
    return held[1], held[2] != now


def _forget_session(target_id: int) -> None:
    cache = getattr(_sessions, "by_target", None) or {}
    held = cache.pop(target_id, None)
    if held is not None:
        held[1].close()


def _apply(effect: Effect, target: Target, mapping: Mapping, is_grant: bool) -> str:
    """Grant or revoke on a (possibly reused) session. A reused session that turns out to be broken
    (the server restarted, an idle connection was cut) is replaced once before the error counts."""
    options = mapping.options or {}
    grant = effect.applied_grant
    for attempt in (1, 2):
        session, reused = _cached_session(target)
        try:
            account = session.account_of(effect.principal)
            if is_grant:
                detail = session.grant(account=account, grant=grant, options=options)
                if _held(effect, timezone.now()) is None:
                    # Ended while we granted (its revoke may have run first and found nothing): undo.
                    detail += "; the role ended meanwhile: " + session.revoke(account=account, grant=grant,
                                                                             options=options)
                return detail
            return session.revoke(account=account, grant=grant, options=options)
        except ConnectorError as error:
            _forget_session(target.pk)
            if attempt == 1 and reused and not error.permanent:
                continue
            raise
    raise AssertionError("unreachable")


def _held(effect: Effect, at):
    """Does the user hold the grant `effect` applies at `at`? Through its mapping, or through any other
    enabled mapping of the target to the same grant (two roles mapped to one group: the group stays while
    either is held; for the grant an edit took from a mapping, only through the others)."""
    mapping = effect.mapping
    grant = effect.applied_grant
    if grant == mapping.grant:
        held = access_find_grant(principal=effect.principal_id, role=mapping.role_id, scope=mapping.scope_id, at=at)
        if held is not None:
            return held
    for pk, role_id, scope_id in _mappings_to(effect.target_id, grant):
        if pk != mapping.pk:
            held = access_find_grant(principal=effect.principal_id, role=role_id, scope=scope_id, at=at)
            if held is not None:
                return held
    return None


_grant_mappings: contextvars.ContextVar[dict | None] = contextvars.ContextVar("grant_mappings", default=None)


def _mappings_to(target_id: int, grant: str) -> list[tuple[int, int, int]]:
    """(id, role, scope) of the target's enabled mappings to `grant`: read once per delivered batch (every
    revoke of a sweep asks it), else once per call."""
    memo = _grant_mappings.get()
    key = (target_id, grant)
    if memo is not None and key in memo:
        return memo[key]
    rows = list(Mapping.objects.filter(target_id=target_id, grant=grant, enabled=True)
                .values_list("pk", "role_id", "scope_id"))
    if memo is not None:
        memo[key] = rows
    return rows


def _effects_for(messages: list[OutboxMessage]) -> dict[int, Effect]:
    ids = [m.payload.get("effect") for m in messages]
    return {e.pk: e for e in Effect.objects.select_related("mapping", "mapping__target", "target", "principal",
                                                           "principal__user")
            .filter(pk__in=[pk for pk in ids if isinstance(pk, int)])}


def _failed_attempt(effect: Effect, message: OutboxMessage, target: Target, error: ConnectorError, *,
                    permanent: bool, now, **fields) -> None:
    """A connector error on one attempt: the target's status says so and the effect keeps the error,
    failed when `permanent` or out of attempts, else queued for the relay's retry. Raises what tells
    the relay which (PermanentDeliveryError or RetryLater)."""
    text = str(error)
    _target_status(target.pk, Target.Status.ERROR, text)
    last = message.attempts >= message.max_attempts
    _record(effect.pk, message, status=Effect.Status.FAILED if permanent or last else Effect.Status.QUEUED,
            last_error=text[:2000], first_error_at=effect.first_error_at or now, **fields)
    if permanent:
        raise PermanentDeliveryError(text) from error
    raise RetryLater(text) from error


def _deliver(message: OutboxMessage, effect: Effect | None, applied: list) -> Target | None:
    """Apply one effect. What the target confirmed is appended to `applied` (acknowledged by the caller,
    for a whole batch at once); skips and failures are recorded here. Returns the target when it worked
    and its status should say so. Raises to retry, PermanentDeliveryError to give up."""
    if effect is None:
        raise PermanentDeliveryError("The effect no longer exists (its mapping or target was deleted).")
    if effect.status != Effect.Status.QUEUED:
        return None  # settled by an earlier attempt (or by hand): nothing to do again
    if effect.not_before > timezone.now():
        return None  # rescheduled (the end moved later): the row queued for the new time applies it
    if effect.action == Effect.Action.EVENT:
        return _deliver_event(message, effect)
    mapping, target = effect.mapping, effect.mapping.target
    is_grant = effect.action == Effect.Action.GRANT
    now = timezone.now()
    held = _held(effect, now)
    if is_grant and held is None:
        _record(effect.pk, message, status=Effect.Status.SKIPPED, last_error="",
                detail="not applied: the role was no longer held when the grant ran")
        return None
    if not is_grant and held is not None:
        _record(effect.pk, message, status=Effect.Status.SKIPPED, last_error="",
                detail=f"not revoked: still held through assignment #{held.assignment_id}")
        return None
    user = effect.principal.user
    try:
        if not target.enabled or not mapping.enabled:
            raise PermanentDeliveryError("The target or the mapping is disabled.")
        if user is None:
            raise PermanentDeliveryError("Only users have accounts in targets.")
        detail = _apply(effect, target, mapping, is_grant)
    except ConnectorError as error:
        _failed_attempt(effect, message, target, error, permanent=error.permanent and is_grant, now=now)
    except PermanentDeliveryError as error:
        _record(effect.pk, message, status=Effect.Status.FAILED, last_error=str(error)[:2000],
                first_error_at=effect.first_error_at or now)
        raise
    applied.append((effect.pk, message, detail, timezone.now()))
    return target


def _deliver_event(message: OutboxMessage, effect: Effect) -> Target | None:
    """POST one event delivery to its webhook target (on the target's reused client). Records the
    outcome, its status code and error; raises RetryLater to retry, PermanentDeliveryError to give up."""
    target = effect.target
    now = timezone.now()
    try:
        kind = KINDS.get(target.kind)
        if kind is None or kind.has_holders:
            raise PermanentDeliveryError(f"{target} is not a webhook target.")
        if not target.enabled:
            raise PermanentDeliveryError("The target is disabled.")
        session, _reused = _cached_session(target)
        try:
            code, detail = session.post_event(event=effect.event, delivery_id=str(effect.delivery_id),
                                              body=effect.body.encode())
        except ConnectorError:
            _forget_session(target.pk)
            raise
    except ConnectorError as error:
        _failed_attempt(effect, message, target, error, permanent=error.permanent, now=now,
                        last_status_code=getattr(error, "status_code", None))
    except PermanentDeliveryError as error:
        _record(effect.pk, message, status=Effect.Status.FAILED, last_error=str(error)[:2000],
                first_error_at=effect.first_error_at or now)
        raise
    _record(effect.pk, message, status=Effect.Status.DONE, applied_at=timezone.now(), last_error="",
            detail=detail[:300], last_status_code=code)
    return target


def _mark_ok(targets: dict[int, Target], action_by_target: dict[int, str]) -> None:
    for target in targets.values():
        if target.status != Target.Status.OK:
            action = action_by_target[target.pk]
            _target_status(target.pk, Target.Status.OK,
                           "Last delivery accepted." if action == Effect.Action.EVENT else f"Last {action} applied.")


def deliver_effect(message: OutboxMessage) -> None:
    """The outbox deliverer of channel "connector" for one row. Raises to retry, PermanentDeliveryError
    to give up."""
    effect = _effects_for([message]).get(message.payload.get("effect"))
    applied: list = []
    target = _deliver(message, effect, applied)
    _record_applied(applied)
    if target is not None:
        _mark_ok({target.pk: target}, {target.pk: effect.action})


def deliver_effects(messages: list[OutboxMessage]) -> list[BaseException | None]:
    """The batch deliverer of channel "connector": the relay's claimed rows at once. One query loads
    their effects, each is applied on the target's reused session, and what the targets confirmed is
    acknowledged in one statement; each row's outcome is its own (a failure never reaches the others).
    If the acknowledgement itself fails, the whole batch is retried: the connectors are idempotent."""
    effects = _effects_for(messages)
    applied: list = []
    outcomes: list[BaseException | None] = []
    targets: dict[int, Target] = {}
    actions: dict[int, str] = {}
    memo = _grant_mappings.set({})
    try:
        for message in messages:
            effect = effects.get(message.payload.get("effect"))
            try:
                target = _deliver(message, effect, applied)
            except Exception as error:  # noqa: BLE001 — this row's outcome; the others go on
                outcomes.append(error)
                continue
            outcomes.append(None)
            if target is not None:
                targets[target.pk], actions[target.pk] = target, effect.action
    finally:
        _grant_mappings.reset(memo)
    _record_applied(applied)
    _mark_ok(targets, actions)
    return outcomes
