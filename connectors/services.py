"""Configuration of targets and mappings (validated on save, audited in the transaction), Test
connection, retries of failed effects, and the fixes of drift found by reconciliation.

Who: Global Administrators and Privileged Role Administrators, with a fresh MFA verification for every
change (a target's credentials reach into real systems). Secrets are sealed with `core.crypto`
and never returned.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.access import access_find_grant
from assignments.models import Assignment, RoleDefinition, Scope, User
from assignments.services import assignment_create, audited_refusal
from audit.services import audit_event_record
from core.actors import as_actor
from core.config_changes import (
    config_change_guard,
    config_change_reason,
    config_change_recorded,
    config_change_why,
    current_reason,
)
from core.crypto import seal
from core.errors import conflict, invalid, not_found
from notifications.outbox import outbox_enqueue

from . import effects
from .kinds import KINDS, ConnectorError
from .models import Drift, Effect, Mapping, Target

ADMIN_ROLES = assignment_selectors.DIRECTORY_ADMIN_ROLES


def check_connector_admin(actor) -> None:
    rules.check_directory_admin(actor=actor, what="manage connectors")


def _check_mfa(actor, mfa_verified_at: datetime | None, *, what: str) -> None:
    rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at), what=what)


def _snapshot(target: Target) -> dict:
    return {"name": target.name, "kind": target.kind, "config": target.config, "enabled": target.enabled,
            "has_secret": target.has_secret}


def _kind(key: str):
    kind = KINDS.get(key)
    if kind is None:
        raise invalid(f"Unknown connector type {key!r}; choose one of {', '.join(sorted(KINDS))}.", field="kind")
    return kind


# --- targets ---------------------------------------------------------------------------------------------


@audited_refusal("connector_target.create")
def target_create(*, actor: User, name: str, kind: str, config: dict, secret: str = "", enabled: bool = True,
                  mfa_verified_at: datetime | None = None) -> Target:
    check_connector_admin(actor)
    connector = _kind(kind)
    name = (name or "").strip()
    if not name:
        raise invalid("Name the target.", field="name")
    clean = connector.clean_config(config or {})
    _check_mfa(actor, mfa_verified_at, what="configure a connector")
    now = timezone.now()
    try:
        with transaction.atomic():
            target = Target.objects.create(name=name[:100], kind=kind, config=clean, secret_sealed=seal(secret or ""),
                                           enabled=enabled, created_by=actor, created_at=now, updated_at=now)
            audit_event_record(action="connector_target.create", actor=actor, target=target, after=_snapshot(target))
    except IntegrityError:
        raise invalid(f"A target named {name!r} exists.", field="name") from None
    return target


def _guard_mappings(mappings, *, actor, name: str | None = None) -> list[str]:
    """The version-history keys of `mappings` (under the target's name, or `name`), each guarded."""
    keys = []
    for m in mappings:
        key = mapping_config_key(target=m.target, role=m.role, scope=m.scope, grant=m.grant)
        if name is not None:
            key = f"{name}{key[len(m.target.name):]}"
        config_change_guard(kind="connector_mapping", key=key, scope_path=m.scope.path, actor=actor,
                            existed=name is None)
        keys.append(key)
    return keys


def _mappings_renamed(target: Target, *, old_name: str, actor) -> list[str]:
    """A renamed target renames its mappings' keys: each old key is removed and each new one created."""
    if target.name == old_name:
        return []
    mappings = list(Mapping.objects.filter(target=target).select_related("role", "scope"))
    for m in mappings:
        m.target = Target(name=old_name)
    old = _guard_mappings(mappings, actor=actor)
    new = _guard_mappings(mappings, actor=actor, name=target.name)
    return old + new


@audited_refusal("connector_target.update")
def target_update(*, actor: User, target: Target, name: str, config: dict, enabled: bool,
                  secret: str | None = None, mfa_verified_at: datetime | None = None) -> Target:
    """Change a target; `secret` None keeps the stored one, "" clears it."""
    check_connector_admin(actor)
    clean = _kind(target.kind).clean_config(config or {})
    name = (name or "").strip()
    if not name:
        raise invalid("Name the target.", field="name")
    _check_mfa(actor, mfa_verified_at, what="configure a connector")
    try:
        with transaction.atomic():
            locked = Target.objects.select_for_update().filter(pk=target.pk).first()
            if locked is None:
                raise not_found("That target no longer exists.")
            before = _snapshot(locked)
            locked.name, locked.config, locked.enabled = name[:100], clean, enabled
            if secret is not None:
                locked.secret_sealed = seal(secret)
            after = _snapshot(locked)
            if after == before and secret is None:
                return locked
            renamed = _mappings_renamed(locked, old_name=before["name"], actor=actor)
            locked.updated_at = timezone.now()
            locked.save()
            for key in renamed:
                config_change_recorded(kind="connector_mapping", key=key, actor=actor)
            changed = [key for key in after if after[key] != before[key]]
            audit_event_record(action="connector_target.update", actor=actor, target=locked,
                               before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
                               message="Secret replaced." if secret is not None else "")
    except IntegrityError:
        raise invalid(f"A target named {name!r} exists.", field="name") from None
    return locked


@audited_refusal("connector_target.delete")
def target_delete(*, actor: User, target: Target, mfa_verified_at: datetime | None = None) -> None:
    check_connector_admin(actor)
    _check_mfa(actor, mfa_verified_at, what="delete a connector")
    with transaction.atomic():
        before = _snapshot(target)
        if Effect.objects.filter(target=target, status=Effect.Status.QUEUED, action=Effect.Action.REVOKE).exists():
            raise conflict("Revokes are still queued for this target: disable it instead, or wait until they are "
                           "confirmed.")
        # Its mappings go with it: each is a removal in the version history (and under dual control).
        keys = _guard_mappings(Mapping.objects.filter(target=target).select_related("target", "role", "scope"),
                               actor=actor)
        deleted, _ = Target.objects.filter(pk=target.pk).delete()
        if deleted:
            audit_event_record(action="connector_target.delete", actor=actor, target_type="connectors.target",
                               target_id=str(target.pk), target_label=target.name, before=before)
            for key in keys:
                config_change_recorded(kind="connector_mapping", key=key, actor=actor)


@dataclass
class TestResult:
    ok: bool
    message: str


def target_test(*, actor: User, target: Target) -> TestResult:
    """Test connection: connect, bind, and check every mapped grant exists. Records the status."""
    check_connector_admin(actor)
    lines = []
    ok = True
    try:
        with effects.effect_session(target) as session:
            lines.append(session.test())
            for mapping in target.mappings.filter(enabled=True):
                try:
                    lines.append(session.check_grant(mapping.grant))
                except ConnectorError as error:
                    ok = False
                    lines.append(f"Mapping {mapping.grant}: {error}")
    except ConnectorError as error:
        ok = False
        lines.append(str(error))
    message = " ".join(lines)
    with transaction.atomic():
        Target.objects.filter(pk=target.pk).update(status=Target.Status.OK if ok else Target.Status.ERROR,
                                                   status_message=message[:2000], status_at=timezone.now())
        audit_event_record(action="connector_target.test", actor=actor, target=target,
                           outcome="success" if ok else "failure", message=message[:500])
    target.refresh_from_db()
    return TestResult(ok, message)


# --- mappings --------------------------------------------------------------------------------------------


def _mapping_snapshot(mapping: Mapping) -> dict:
    return {"target": mapping.target.name, "role": mapping.role.slug, "scope": mapping.scope.path,
            "grant": mapping.grant, "options": mapping.options, "enabled": mapping.enabled}


def mapping_config_key(*, target: Target, role: RoleDefinition, scope: Scope, grant: str) -> str:
    """How the version history names a mapping (`core.config_changes`): what it maps, which is what makes
    it one (its unique constraint); grants may hold any character, so the grant comes last."""
    return f"{target.name}|{role.slug}@{scope.path}|{grant}"


@audited_refusal("connector_mapping.create")
def mapping_create(*, actor: User, target: Target, role: RoleDefinition, scope: Scope, grant: str,
                   options: dict | None = None, check: bool = True, mfa_verified_at: datetime | None = None,
                   reason: str | None = None) -> Mapping:
    """Map holding `role` at `scope` to `grant` in `target`. With `check`, the grant must exist in the
    target now (a mapping to a group that does not exist would fail every activation). `reason`: why
    (required from a person; None where no one is asked: `core.config_changes`)."""
    check_connector_admin(actor)
    reason = config_change_why(reason, what="map this role")
    grant, options = _mapping_clean(target=target, role=role, scope=scope, grant=grant, options=options)
    _check_mfa(actor, mfa_verified_at, what="map a role to a connector")
    if check:
        _mapping_check_grant(target, grant)
    try:
        with transaction.atomic():
            config_key = mapping_config_key(target=target, role=role, scope=scope, grant=grant)
            config_change_guard(kind="connector_mapping", key=config_key, scope_path=scope.path, actor=actor,
                                existed=False)
            mapping = Mapping.objects.create(target=target, role=role, scope=scope, grant=grant, options=options,
                                             created_by=actor, created_at=timezone.now())
            audit_event_record(action="connector_mapping.create", actor=actor, target=mapping, role=role, scope=scope,
                               after=_mapping_snapshot(mapping), message=reason)
            config_change_recorded(kind="connector_mapping", key=config_key, actor=actor, reason=reason)
    except IntegrityError:
        raise invalid("That mapping exists.", field="grant") from None
    return mapping


def _mapping_clean(*, target: Target, role: RoleDefinition, scope: Scope, grant: str, options: dict | None
                   ) -> tuple[str, dict]:
    """The grant and options of a mapping as `target`'s type spells them."""
    connector = _kind(target.kind)
    grant = connector.clean_grant(grant)
    options = connector.clean_options(options or {})
    if role.slug == RoleDefinition.GROUP_MEMBER and scope.group_id is None:
        raise invalid("The Member role is mapped at a group's scope.", field="scope")
    return grant, options


def _mapping_check_grant(target: Target, grant: str) -> None:
    try:
        with effects.effect_session(target) as session:
            session.check_grant(grant)
    except ConnectorError as error:
        raise invalid(f"{_kind(target.kind).grant_label} {grant}: {error}", field="grant") from None


@audited_refusal("connector_mapping.update")
def mapping_update(*, actor: User, mapping: Mapping, role: RoleDefinition, scope: Scope, grant: str,
                   options: dict | None = None, reason: str = "", check: bool = True,
                   mfa_verified_at: datetime | None = None) -> Mapping:
    """Change what a mapping maps, validated like a new one (with `check`, the grant must exist in the
    target now). Who holds it follows in the target, through effects queued in this transaction: a
    changed grant is revoked from its holders and the new one granted; another role or scope revokes it
    from who no longer holds it and grants it to who does now. `reason` (or the reason of the change
    being applied: a rollback, an approved proposal) goes into the audit event and the version."""
    check_connector_admin(actor)
    target = mapping.target
    grant, options = _mapping_clean(target=target, role=role, scope=scope, grant=grant, options=options)
    reason = (reason or "").strip()[:500] or current_reason()
    if not reason:
        raise invalid("Say why you change this mapping.", field="reason")
    _check_mfa(actor, mfa_verified_at, what="change a connector mapping")
    if check:
        _mapping_check_grant(target, grant)
    try:
        with transaction.atomic(), config_change_reason(reason):
            locked = (Mapping.objects.select_for_update(of=("self",)).select_related("target", "role", "scope")
                      .filter(pk=mapping.pk).first())
            if locked is None:
                raise not_found("That mapping no longer exists.")
            before = _mapping_snapshot(locked)
            after = {**before, "role": role.slug, "scope": scope.path, "grant": grant, "options": options}
            if after == before:
                return locked
            old_key = mapping_config_key(target=locked.target, role=locked.role, scope=locked.scope,
                                         grant=locked.grant)
            new_key = mapping_config_key(target=locked.target, role=role, scope=scope, grant=grant)
            config_change_guard(kind="connector_mapping", key=old_key, scope_path=locked.scope.path, actor=actor)
            if new_key != old_key:
                config_change_guard(kind="connector_mapping", key=new_key, scope_path=scope.path, actor=actor,
                                    existed=False)
            live = locked.enabled and locked.target.enabled
            holders = effects.mapping_holders(locked) if live else {}
            old_grant, old_role_scope = locked.grant, (locked.role_id, locked.scope_id)
            locked.role, locked.scope, locked.grant, locked.options = role, scope, grant, options
            with transaction.atomic():
                locked.save(update_fields=["role", "scope", "grant", "options"])
            queued = effects.effects_remap(mapping=locked, before=holders, old_grant=old_grant,
                                           old_role_scope=old_role_scope) if live else 0
            changed = [key for key in after if after[key] != before[key]]
            audit_event_record(action="connector_mapping.update", actor=actor, target=locked, role=role, scope=scope,
                               before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
                               message=f"{reason} ({queued} effect{'s' * (queued != 1)} queued)")
            config_change_recorded(kind="connector_mapping", key=old_key, actor=actor)
            if new_key != old_key:
                config_change_recorded(kind="connector_mapping", key=new_key, actor=actor)
    except IntegrityError:
        raise invalid("That mapping exists.", field="grant") from None
    return locked


@audited_refusal("connector_mapping.delete")
def mapping_delete(*, actor: User, mapping: Mapping, mfa_verified_at: datetime | None = None,
                   reason: str | None = None) -> None:
    """Stop mapping. What the mapping granted stays in the target, and reconciliation no longer reads
    that grant: end the assignments (or revoke by hand) first if it must go. `reason` as for
    `mapping_create`."""
    check_connector_admin(actor)
    reason = config_change_why(reason, what="remove this mapping")
    _check_mfa(actor, mfa_verified_at, what="remove a connector mapping")
    with transaction.atomic():
        before = _mapping_snapshot(mapping)
        if Effect.objects.filter(mapping=mapping, status=Effect.Status.QUEUED, action=Effect.Action.REVOKE).exists():
            raise conflict("Revokes of this mapping are still queued: wait until the target confirms them.")
        config_key = mapping_config_key(target=mapping.target, role=mapping.role, scope=mapping.scope,
                                        grant=mapping.grant)
        config_change_guard(kind="connector_mapping", key=config_key, scope_path=mapping.scope.path, actor=actor)
        deleted, _ = Mapping.objects.filter(pk=mapping.pk).delete()
        if deleted:
            audit_event_record(action="connector_mapping.delete", actor=actor, target_type="connectors.mapping",
                               target_id=str(mapping.pk), target_label=str(mapping), role=mapping.role,
                               scope=mapping.scope, before=before, message=reason)
            config_change_recorded(kind="connector_mapping", key=config_key, actor=actor, reason=reason)


# --- effects ---------------------------------------------------------------------------------------------


def _stamp(now) -> int:
    return int(now.timestamp() * 1_000_000)


@audited_refusal("connector_effect.retry")
def effect_retry(*, actor: User, effect: Effect) -> Effect:
    """Run a failed effect again (after the target's settings were fixed)."""
    check_connector_admin(actor)
    now = timezone.now()
    with transaction.atomic():
        if not Effect.objects.filter(pk=effect.pk, status=Effect.Status.FAILED).update(
                status=Effect.Status.QUEUED, last_error="", detail="retry requested", attempts=0,
                first_error_at=None):
            raise conflict("Only a failed effect can be run again.")
        message = outbox_enqueue(channel=effects.CHANNEL, dedupe_key=f"connector:{effect.pk}:retry:{_stamp(now)}",
                                 payload={"effect": effect.pk}, correlation_id=effect.request_id,
                                 max_attempts=effects.effect_max_attempts(effect.action))
        Effect.objects.filter(pk=effect.pk).update(outbox_message=message)
        audit_event_record(action="connector_effect.retry", actor=actor, target=effect, target_label=str(effect),
                           principal=effect.principal, correlation_id=effect.request_id)
    effect.refresh_from_db()
    return effect


# --- drift fixes -----------------------------------------------------------------------------------------


def _open_drift(drift: Drift) -> Drift:
    locked = Drift.objects.select_for_update().select_related("mapping", "mapping__target", "mapping__role",
                                                              "mapping__scope").filter(pk=drift.pk).first()
    if locked is None or locked.status != Drift.Status.OPEN:
        raise conflict("That drift is no longer open.")
    return locked


def _close(drift: Drift, *, actor: User, fix: str, resolution: str) -> None:
    Drift.objects.filter(pk=drift.pk, status=Drift.Status.OPEN).update(
        status=Drift.Status.FIXED, closed_at=timezone.now(), closed_by=actor, resolution=resolution[:300])
    audit_event_record(action="connector_drift.fix", actor=actor, target=drift, target_label=str(drift),
                       principal=drift.principal, role=drift.mapping.role, scope=drift.mapping.scope,
                       message=resolution[:500], after={"fix": fix, "account": drift.account,
                                                        "grant": drift.mapping.grant, "target": drift.target.name})


@audited_refusal("connector_drift.fix")
def drift_fix_revoke(*, actor: User, drift: Drift, mfa_verified_at: datetime | None = None) -> Drift:
    """Take a grant PIM does not account for out of the target, now."""
    check_connector_admin(actor)
    _check_mfa(actor, mfa_verified_at, what="revoke a grant in a target")
    if drift.kind == Drift.Kind.MISSING:
        raise invalid("This grant is missing in the target: grant it again instead.")
    with transaction.atomic():
        locked = _open_drift(drift)
        mapping = locked.mapping
        try:
            with effects.effect_session(mapping.target) as session:
                detail = session.revoke(account=locked.account, grant=mapping.grant, options=mapping.options or {})
        except ConnectorError as error:
            raise conflict(f"The target did not revoke it: {error}") from None
        _close(locked, actor=actor, fix="revoke", resolution=f"Revoked in {mapping.target}: {detail}")
    drift.refresh_from_db()
    return drift


@audited_refusal("connector_drift.fix")
def drift_fix_adopt(*, actor: User, drift: Drift, justification: str,
                    mfa_verified_at: datetime | None = None) -> Assignment:
    """Make the person eligible for the mapped role in PIM and take the standing grant out of the
    target: from now on they hold it by activating it."""
    check_connector_admin(actor)
    if drift.kind != Drift.Kind.OUTSIDE or drift.principal_id is None:
        raise invalid("Only a grant made outside PIM to a known person can be adopted.")
    if not (justification or "").strip():
        raise invalid("Say why.", field="justification")
    with transaction.atomic():
        locked = _open_drift(drift)
        mapping = locked.mapping
        existing = Assignment.objects.filter(principal_id=locked.principal_id, role=mapping.role, scope=mapping.scope,
                                             kind=Assignment.Kind.ELIGIBLE, status=Assignment.Status.LIVE).first()
        eligible = existing or assignment_create(
            actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at), principal=locked.principal, role=mapping.role,
            scope=mapping.scope, kind=Assignment.Kind.ELIGIBLE, start_at=None, end_at=None,
            justification=justification)
        try:
            with effects.effect_session(mapping.target) as session:
                detail = session.revoke(account=locked.account, grant=mapping.grant, options=mapping.options or {})
        except ConnectorError as error:
            raise conflict(f"The target did not revoke the standing grant: {error}") from None
        _close(locked, actor=actor, fix="adopt",
               resolution=f"Adopted as eligible assignment #{eligible.pk}; standing grant: {detail}")
    return eligible


@audited_refusal("connector_drift.fix")
def drift_fix_regrant(*, actor: User, drift: Drift) -> Effect:
    """Queue the grant again, through the outbox like any other effect."""
    check_connector_admin(actor)
    if drift.kind != Drift.Kind.MISSING or drift.principal_id is None:
        raise invalid("Only a grant missing in the target can be granted again.")
    now = timezone.now()
    with transaction.atomic():
        locked = _open_drift(drift)
        mapping = locked.mapping
        grant = assignment_selectors_grant(locked)
        if grant is None:
            raise conflict("PIM no longer says this person holds the role: nothing to grant.")
        effect = Effect.objects.create(mapping=mapping, target=mapping.target, principal_id=locked.principal_id,
                                       assignment_id=grant.assignment_id, action=Effect.Action.GRANT,
                                       transition=f"regrant:{_stamp(now)}", queued_at=now, not_before=now)
        message = outbox_enqueue(channel=effects.CHANNEL, dedupe_key=f"connector:{effect.pk}",
                                 payload={"effect": effect.pk}, max_attempts=effects.GRANT_MAX_ATTEMPTS)
        Effect.objects.filter(pk=effect.pk).update(outbox_message=message)
        _close(locked, actor=actor, fix="regrant", resolution=f"Grant queued again (effect #{effect.pk}).")
    return effect


def assignment_selectors_grant(drift: Drift):
    return access_find_grant(principal=drift.principal_id, role=drift.mapping.role_id, scope=drift.mapping.scope_id)


# --- webhook targets (their effects are signed event deliveries: `connectors.webhooks`) -------------------


def _webhook_target(target: Target) -> None:
    if KINDS.get(target.kind) is None or KINDS[target.kind].has_holders:
        raise invalid("Only a webhook target has a signing secret to generate.")


def webhook_target_create(*, actor: User, name: str, config: dict, secret: str = "", enabled: bool = True,
                          mfa_verified_at: datetime | None = None) -> tuple[Target, str]:
    """A webhook target; without a signing secret one is generated. Returns the target and the
    generated secret (shown once; "" when the caller chose it)."""
    from .kinds.webhook import webhook_secret_generate

    generated = "" if secret else webhook_secret_generate()
    target = target_create(actor=actor, name=name, kind="webhook", config=config, secret=secret or generated,
                           enabled=enabled, mfa_verified_at=mfa_verified_at)
    return target, generated


@audited_refusal("connector_target.rotate_secret")
def webhook_target_rotate_secret(*, actor: User, target: Target, mfa_verified_at: datetime | None = None) -> str:
    """A new signing secret for a webhook target, used from the next delivery attempt on. Returned once."""
    from .kinds.webhook import webhook_secret_generate

    check_connector_admin(actor)
    _webhook_target(target)
    _check_mfa(actor, mfa_verified_at, what="rotate a webhook signing secret")
    secret = webhook_secret_generate()
    with transaction.atomic():
        if not Target.objects.filter(pk=target.pk).update(secret_sealed=seal(secret), updated_at=timezone.now()):
            raise not_found("That target no longer exists.")
        audit_event_record(action="connector_target.rotate_secret", actor=actor, target=target,
                           message="Signing secret rotated.")
    return secret
