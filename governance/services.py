"""State changes of governance: separation-of-duties conflict sets and their exceptions, and the
thresholds of right-sizing.

Directory administrators (Global / Privileged Role Administrators) manage them, with a fresh MFA
verification (the gate of every privileged administrative change). Each change runs in one
transaction: lock → rules → write → audit event; a refused attempt is audited too. The right-sizing
fixes are the ordinary services (`governance.rightsizing.rightsizing_apply` calls them).
"""

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from assignments import rules
from assignments.models import Principal, RoleDefinition, User
from assignments.services import audited_refusal
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.errors import FieldErrors, conflict, forbidden, not_found

from . import rightsizing
from .models import ConflictException, ConflictSet, RightsizingSetting

MAX_EXCEPTION = timedelta(days=366)  # an exception is a dated acceptance, never open-ended


def _acting(actor: Actor | User, mfa_verified_at: datetime | None, what: str) -> Actor:
    acting = as_actor(actor).with_mfa_verified_at(mfa_verified_at)
    rules.check_directory_admin(actor=acting, what=what)
    rules.check_admin_mfa(actor=acting, what=what)
    return acting


def _describe(kwargs: dict) -> dict:
    target = kwargs.get("conflict_set") or kwargs.get("exception")
    return {"target": target if hasattr(target, "_meta") else None,
            "principal": kwargs.get("principal") if isinstance(kwargs.get("principal"), Principal) else None}


def _snapshot(conflict_set: ConflictSet) -> dict:
    return {"name": conflict_set.name, "description": conflict_set.description, "mode": conflict_set.mode,
            "enabled": conflict_set.enabled,
            "roles": sorted(conflict_set.roles.values_list("slug", flat=True)) if conflict_set.pk else []}


def conflict_set_validate(*, name: str, mode: str, role_ids: list[int]) -> list[RoleDefinition]:
    """Every field rule of a conflict set, all at once (a form may call it early)."""
    found = FieldErrors()
    if not (name or "").strip():
        found.add("name", "Name the conflict set.")
    elif len(name.strip()) > 200:
        found.add("name", "At most 200 characters.")
    if mode not in ConflictSet.Mode.values:
        found.add("mode", "Choose refuse or flag.")
    roles = list(RoleDefinition.objects.filter(pk__in=set(role_ids or [])))
    if len(roles) != len(set(role_ids or [])):
        found.add("roles", "Unknown role.")
    elif len(roles) < 2:
        found.add("roles", "A conflict set needs at least two roles.")
    found.raise_if_any()
    return roles


@audited_refusal("conflict_set.save", describe=_describe)
def conflict_set_save(*, actor: Actor | User, name: str, mode: str, role_ids: list[int], description: str = "",
                      enabled: bool = True, conflict_set: ConflictSet | None = None,
                      mfa_verified_at: datetime | None = None) -> ConflictSet:
    """Create a conflict set, or change one (`conflict_set`). Nothing written when nothing changes."""
    acting = _acting(actor, mfa_verified_at, "manage separation-of-duties conflict sets")
    roles = conflict_set_validate(name=name, mode=mode, role_ids=role_ids)
    now = timezone.now()
    with transaction.atomic():
        if conflict_set is not None:
            conflict_set = ConflictSet.objects.select_for_update().filter(pk=conflict_set.pk).first()
            if conflict_set is None:
                raise not_found("That conflict set no longer exists.")
        before = _snapshot(conflict_set) if conflict_set else None
        after = {"name": name.strip(), "description": (description or "").strip(), "mode": mode,
                 "enabled": bool(enabled), "roles": sorted(r.slug for r in roles)}
        if before == after:
            return conflict_set
        if conflict_set is None:
            conflict_set = ConflictSet(created_at=now, created_by=acting.user)
        conflict_set.name, conflict_set.description = after["name"], after["description"]
        conflict_set.mode, conflict_set.enabled, conflict_set.updated_at = mode, bool(enabled), now
        try:
            with transaction.atomic():
                conflict_set.save()
        except IntegrityError:
            raise conflict(f"A conflict set named {after['name']!r} already exists.")
        conflict_set.roles.set(roles)
        audit_event_record(action="conflict_set.create" if before is None else "conflict_set.update", actor=acting,
                           target=conflict_set, before=before, after=after)
    return conflict_set


@audited_refusal("conflict_set.delete", describe=_describe)
def conflict_set_delete(*, actor: Actor | User, conflict_set: ConflictSet,
                        mfa_verified_at: datetime | None = None) -> None:
    acting = _acting(actor, mfa_verified_at, "manage separation-of-duties conflict sets")
    with transaction.atomic():
        locked = ConflictSet.objects.select_for_update().filter(pk=conflict_set.pk).first()
        if locked is None:
            raise conflict("That conflict set was deleted a moment ago.")
        before = _snapshot(locked)
        audit_event_record(action="conflict_set.delete", actor=acting, target=locked, before=before)
        locked.delete()


def _exception_snapshot(exception: ConflictException) -> dict:
    return {"conflict_set": exception.conflict_set.name, "principal": str(exception.principal),
            "justification": exception.justification, "end_at": exception.end_at,
            "revoked_at": exception.revoked_at}


@audited_refusal("conflict_exception.grant", describe=_describe)
def conflict_exception_grant(*, actor: Actor | User, conflict_set: ConflictSet, principal: Principal,
                             justification: str, end_at: datetime | None,
                             mfa_verified_at: datetime | None = None) -> ConflictException:
    """Accept that `principal` combines the roles of `conflict_set` until `end_at` (within a year), for
    the reason given. Never one's own: a second administrator accepts it."""
    acting = _acting(actor, mfa_verified_at, "grant separation-of-duties exceptions")
    now = timezone.now()
    justification = (justification or "").strip()
    found = FieldErrors()
    if not justification:
        found.add("justification", "An exception needs a justification.")
    if end_at is None:
        found.add("end_at", "An exception needs an end date.")
    elif timezone.is_naive(end_at):
        found.add("end_at", "Times must carry a time zone.")
    elif end_at <= now:
        found.add("end_at", "The end must be in the future.")
    elif end_at > now + MAX_EXCEPTION:
        found.add("end_at", "An exception lasts at most a year; grant a new one when it ends.")
    found.raise_if_any()
    if acting.principal is not None and acting.principal.pk == principal.pk:
        raise forbidden("You cannot grant a separation-of-duties exception to yourself.")
    with transaction.atomic():
        locked = ConflictSet.objects.select_for_update().filter(pk=conflict_set.pk).first()
        if locked is None:
            raise not_found("That conflict set no longer exists.")
        if ConflictException.objects.filter(conflict_set=locked, principal=principal, revoked_at__isnull=True,
                                            end_at__gt=now).exists():
            raise conflict(f"{principal} already has a live exception for {locked.name}: revoke it first.")
        exception = ConflictException.objects.create(conflict_set=locked, principal=principal,
                                                     justification=justification, end_at=end_at, created_at=now,
                                                     created_by=acting.user)
        audit_event_record(action="conflict_exception.grant", actor=acting, target=exception, principal=principal,
                           justification=justification, after=_exception_snapshot(exception))
    return exception


@audited_refusal("conflict_exception.revoke", describe=_describe)
def conflict_exception_revoke(*, actor: Actor | User, exception: ConflictException, justification: str = "",
                              mfa_verified_at: datetime | None = None) -> ConflictException:
    acting = _acting(actor, mfa_verified_at, "revoke separation-of-duties exceptions")
    now = timezone.now()
    with transaction.atomic():
        changed = ConflictException.objects.filter(pk=exception.pk, revoked_at__isnull=True, end_at__gt=now).update(
            revoked_at=now, revoked_by=acting.user)
        if changed != 1:
            raise conflict("This exception has already ended or been revoked.")
        exception = ConflictException.objects.select_related("conflict_set", "principal").get(pk=exception.pk)
        audit_event_record(action="conflict_exception.revoke", actor=acting, target=exception,
                           principal=exception.principal, justification=(justification or "").strip(),
                           before={"revoked_at": None}, after={"revoked_at": now})
    return exception


def rightsizing_settings_validate(*, values: dict) -> dict:
    """Every threshold given, as a whole number within its bounds, all errors at once."""
    found, clean = FieldErrors(), {}
    for name in set(values) - set(rightsizing.BOUNDS):
        found.add(name, "Unknown right-sizing setting.")
    for name, (label, low, high) in rightsizing.BOUNDS.items():
        if name not in values:
            continue
        value = values[name]
        if isinstance(value, bool) or not isinstance(value, int | str):
            found.add(name, f"{label} must be a whole number.")
            continue
        try:
            number = int(value)
        except ValueError:
            found.add(name, f"{label} must be a whole number.")
            continue
        if not low <= number <= high:
            found.add(name, f"{label} must be between {low} and {high}.")
        else:
            clean[name] = number
    found.raise_if_any()
    return clean


@audited_refusal("rightsizing.settings_update", describe=lambda kwargs: {"target": None, "principal": None})
def rightsizing_settings_update(*, actor: Actor | User, values: dict,
                                mfa_verified_at: datetime | None = None) -> rightsizing.Thresholds:
    """Change the thresholds right-sizing recommends with (any of days, factor, min_samples); the
    others keep their value. Directory administrators, with a fresh MFA verification: raising them
    hides recommendations. Nothing written when nothing changes."""
    acting = _acting(actor, mfa_verified_at, "change the right-sizing settings")
    clean = rightsizing_settings_validate(values=values)
    with transaction.atomic():
        row, _ = RightsizingSetting.objects.select_for_update().get_or_create(key="default")
        before = {"days": row.days, "factor": row.factor, "min_samples": row.min_samples}
        after = {**before, **clean}
        if after == before:
            return rightsizing.Thresholds(**after)
        row.days, row.factor, row.min_samples = after["days"], after["factor"], after["min_samples"]
        row.updated_at, row.updated_by = timezone.now(), acting.user
        row.save()
        audit_event_record(action="rightsizing.settings_update", actor=acting, target=row,
                           target_label="Right-sizing settings", before=before, after=after)
    return rightsizing.Thresholds(**after)
