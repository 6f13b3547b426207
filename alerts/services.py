"""State changes of the alerts app: alert settings, evaluation into incidents, resolve / dismiss,
fixes in place (through the ordinary assignment and role-setting services), converting permanent
active assignments to eligible, and the emergency-access sign-in incident.

Each change runs in one transaction and writes its audit event in it; emails go through the outbox
in the same transaction.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from assignments import rules
from assignments import selectors as assignment_selectors
from assignments.models import Assignment, RoleSetting, User
from assignments.services import (
    assignment_make_eligible,  # the transition is the assignments app's; the discovery wizard calls it
    assignment_remove,
    role_setting_update,
)
from audit.services import audit_event_record
from core import domain_events
from core.actors import Actor, as_actor
from core.config_changes import config_change_guard, config_change_recorded, config_change_why
from core.errors import DomainError, conflict, forbidden, invalid, not_found
from notifications.email import absolute_url, email_enqueue

from . import definitions, selectors
from .models import AlertRun, AlertSetting, Incident, Severity

logger = logging.getLogger(__name__)

MAX_REASON = 2000


# --- Settings --------------------------------------------------------------------------------------


def alert_setting_update(*, actor: User, key: str, enabled: bool, thresholds: dict,
                         mfa_verified_at: datetime | None = None, reason: str | None = None) -> AlertSetting:
    """Turn an alert on or off and set its thresholds (directory administrators only), audited. `reason`:
    why (required from a person; None where no one is asked: `core.config_changes`)."""
    definition = definitions.definition_get(key)
    if definition is None:
        raise not_found("No such alert.")
    if not selectors.user_is_directory_admin(user=actor):
        raise forbidden("Only Global Administrators and Privileged Role Administrators change alert settings.")
    known = {t.name: t for t in definition.thresholds}
    unknown = set(thresholds) - set(known)
    if unknown:
        raise invalid(f"Unknown thresholds: {', '.join(sorted(unknown))}.")
    clean = {}
    for name, value in thresholds.items():
        threshold = known[name]
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid(f"{threshold.label} must be a whole number.", field=name)
        if not threshold.minimum <= number <= threshold.maximum:
            raise invalid(f"{threshold.label} must be between {threshold.minimum} and {threshold.maximum}.",
                          field=name)
        clean[name] = number
    reason = config_change_why(reason, what=f"change the settings of the alert “{definition.name}”")
    # Turning an alert off or up hides what it would have shown: a privileged administrative change.
    rules.check_admin_mfa(actor=as_actor(actor).with_mfa_verified_at(mfa_verified_at),
                          what=f"change the settings of the alert “{definition.name}”")
    with transaction.atomic():
        # A missing row is the catalogue's defaults: the alert's state before this change either way.
        setting, _ = AlertSetting.objects.select_for_update().get_or_create(key=key)
        config_change_guard(kind="alert_setting", key=key, scope_path="/", actor=actor)
        before = {"enabled": setting.enabled, "thresholds": {**definition.defaults(), **setting.thresholds}}
        setting.enabled = bool(enabled)
        setting.thresholds = {**setting.thresholds, **clean}
        setting.updated_by = actor
        setting.save()
        after = {"enabled": setting.enabled, "thresholds": {**definition.defaults(), **setting.thresholds}}
        audit_event_record(action="alert.setting_update", actor=actor, target=setting, target_label=definition.name,
                           before=before, after=after, message=reason)
        config_change_recorded(kind="alert_setting", key=key, actor=actor, reason=reason)
    return setting


# --- Evaluation ------------------------------------------------------------------------------------


def _notify_incident(*, incident: Incident, also: tuple[str, ...] = ()) -> int:
    """New high-severity incidents: email the administrators of the affected role (directory-wide
    alerts: Global Administrators and Privileged Role Administrators), and `also` (addresses the raising
    app adds), through the outbox; one email per address."""
    if incident.severity != Severity.HIGH:
        return 0
    definition = definitions.definition_get(incident.alert_key)
    recipients = [*selectors.admin_emails_for(role=incident.role, scope=incident.scope), *also]
    template = "email/alert_emergency_sign_in" if incident.alert_key == definitions.EMERGENCY_SIGN_IN \
        else "email/alert_incident"
    # Plain JSON: rendered when delivered, so a template problem can never break the write (or a sign-in).
    context = {
        "alert": definition.name, "severity": incident.get_severity_display(), "title": incident.title,
        "detail": incident.detail, "how_to_fix": definition.how_to_fix,
        "role": incident.role.name if incident.role else "", "scope": incident.scope.path if incident.scope else "",
        "principal": str(incident.principal) if incident.principal else "",
        "username": (incident.data or {}).get("username", ""),
        "first_seen": incident.first_seen_at.strftime("%Y-%m-%d %H:%M"),
        "url": absolute_url(reverse("alerts:incident", args=[incident.pk])),
    }
    return email_enqueue(recipients=recipients, template=template, context=context,
                         dedupe_key=f"alert-incident:{incident.pk}")


def _incident_open(*, definition: definitions.AlertDefinition, finding: definitions.Finding, now: datetime,
                   actor: Actor, items: list[dict] | None = None, also_notify: tuple[str, ...] = ()) -> Incident:
    incident = Incident.objects.create(
        alert_key=definition.key, subject_key=finding.subject_key[:200], severity=definition.severity,
        title=finding.title[:300], detail=finding.detail, principal=finding.principal, role=finding.role,
        scope=finding.scope, affected=finding.affected, items=items or [], data=finding.data, first_seen_at=now,
        last_seen_at=now,
    )
    audit_event_record(action="alert.incident_open", actor=actor, target=incident, target_label=incident.title,
                       principal=finding.principal, role=finding.role, scope=finding.scope,
                       message=f"{definition.name} ({definition.severity} severity)",
                       after={"alert": definition.key, "subject": finding.subject_key, "severity": definition.severity,
                              "items": [item["subject_key"] for item in items or []],
                              "affected": [row.get("assignment_id") for row in finding.affected]})
    _notify_incident(incident=incident, also=also_notify)
    domain_events.emit("alert.incident_opened", key=f"incident:{incident.pk}", data={"incident": {
        "id": incident.pk, "alert": definition.key, "name": definition.name, "severity": incident.severity,
        "title": incident.title, "detail": incident.detail, "first_seen_at": incident.first_seen_at,
        "principal": str(incident.principal) if incident.principal else None,
        "role": incident.role.slug if incident.role else None, "scope": incident.scope.path if incident.scope else None,
        "items": len(items or [])}})
    return incident


ALERT_SUBJECT = "alert"  # the subject of an evaluated alert's one incident


def _item(finding: definitions.Finding) -> dict:
    """One finding as an item of its alert's incident (plain JSON: a snapshot, like `affected`)."""
    return {
        "subject_key": finding.subject_key, "title": finding.title, "detail": finding.detail,
        "principal_id": finding.principal.pk if finding.principal else None,
        "principal": str(finding.principal) if finding.principal else "",
        "role_id": finding.role.pk if finding.role else None, "role": finding.role.name if finding.role else "",
        "scope_id": finding.scope.pk if finding.scope else None, "scope": finding.scope.path if finding.scope else "",
        "affected": finding.affected, "data": finding.data,
    }


def _shared(values: list):
    first = values[0]
    return first if all(v == first for v in values) else None


def _aggregate(definition: definitions.AlertDefinition, findings: list[definitions.Finding]) -> definitions.Finding:
    """The one incident of an alert: the single finding as it is, or a summary listing them all."""
    if len(findings) == 1:
        only = findings[0]
        return definitions.Finding(subject_key=ALERT_SUBJECT, title=only.title, detail=only.detail,
                                   principal=only.principal, role=only.role, scope=only.scope,
                                   affected=only.affected, data=only.data)
    affected, seen = [], set()
    for finding in findings:
        for row in finding.affected:
            if row.get("assignment_id") not in seen:
                seen.add(row.get("assignment_id"))
                affected.append(row)
    return definitions.Finding(
        subject_key=ALERT_SUBJECT, title=f"{definition.name}: {len(findings)} findings",
        detail=definition.description, principal=_shared([f.principal for f in findings]),
        role=_shared([f.role for f in findings]), scope=_shared([f.scope for f in findings]), affected=affected,
        data={"findings": len(findings)},
    )


@dataclass
class EvaluationResult:
    key: str
    findings: int
    opened: int
    cleared: int
    skipped: bool = False


def alert_evaluate(*, key: str, actor: Actor | User, trigger: str = AlertRun.Trigger.SCHEDULE,
                   now: datetime | None = None) -> EvaluationResult:
    """Evaluate one alert: open incidents for new findings, refresh current ones, clear those whose
    condition no longer holds. Evaluations of the same alert are serialised on its settings row, and
    the one-current-incident constraint makes a racing duplicate impossible."""
    actor = as_actor(actor)
    definition = definitions.definition_get(key)
    if definition is None:
        raise not_found("No such alert.")
    if definition.event_based or definition.evaluate is None:
        return EvaluationResult(key, 0, 0, 0, skipped=True)
    now = now or timezone.now()
    with transaction.atomic():
        setting, _ = AlertSetting.objects.select_for_update().get_or_create(key=key)
        if not setting.enabled:
            # A disabled alert has nothing current: clear what it had raised.
            cleared = _clear(key=key, keep=set(), now=now, actor=actor)
            return EvaluationResult(key, 0, 0, cleared, skipped=True)
        thresholds = {**definition.defaults(), **setting.thresholds}
        findings = definition.evaluate(thresholds, now)
        opened = 0
        if findings:
            items = [_item(f) for f in findings]
            summary = _aggregate(definition, findings)
            current = (Incident.objects.select_for_update()
                       .filter(alert_key=key, subject_key=ALERT_SUBJECT, is_current=True).first())
            if current is not None and current.status == Incident.Status.DISMISSED:
                listed = {item["subject_key"] for item in current.items}
                if not {item["subject_key"] for item in items} <= listed:
                    # Dismissed for what it listed; something new is a new incident.
                    Incident.objects.filter(pk=current.pk, is_current=True).update(is_current=False)
                    current = None
            if current is not None:
                Incident.objects.filter(pk=current.pk).update(
                    last_seen_at=now, title=summary.title[:300], detail=summary.detail, affected=summary.affected,
                    items=items, data=summary.data, principal=summary.principal, role=summary.role,
                    scope=summary.scope)
            else:
                try:
                    with transaction.atomic():
                        _incident_open(definition=definition, finding=summary, now=now, actor=actor, items=items)
                    opened = 1
                except IntegrityError:
                    logger.info("The incident of alert %s was opened concurrently", key)
        # Incidents of earlier versions (one per subject) and an incident whose findings are gone clear.
        cleared = _clear(key=key, keep={ALERT_SUBJECT} if findings else set(), now=now, actor=actor)
        AlertRun.objects.create(alert_key=key, trigger=trigger, ran_at=now, ran_by=actor.user, findings=len(findings),
                                opened=opened, cleared=cleared)
        if trigger == AlertRun.Trigger.MANUAL:
            audit_event_record(action="alert.run", actor=actor, target_type="alerts.alert", target_id=key,
                               target_label=definition.name,
                               after={"findings": len(findings), "opened": opened, "cleared": cleared})
    return EvaluationResult(key, len(findings), opened, cleared)


def _clear(*, key: str, keep: set[str], now: datetime, actor: Actor) -> int:
    cleared = 0
    for incident in Incident.objects.filter(alert_key=key, is_current=True).exclude(subject_key__in=keep):
        new_status = Incident.Status.CLEARED if incident.status == Incident.Status.OPEN else incident.status
        changed = Incident.objects.filter(pk=incident.pk, is_current=True, status=incident.status).update(
            is_current=False, status=new_status,
            closed_at=now if incident.status == Incident.Status.OPEN else incident.closed_at)
        if changed:
            cleared += 1
            audit_event_record(action="alert.incident_clear", actor=actor, target=incident,
                               target_label=incident.title, role=incident.role, scope=incident.scope,
                               principal=incident.principal, message="The condition no longer holds.",
                               before={"status": incident.status}, after={"status": new_status})
    return cleared


def alerts_evaluate_all(*, actor: Actor | User, trigger: str = AlertRun.Trigger.SCHEDULE,
                        now: datetime | None = None) -> list[EvaluationResult]:
    """Evaluate every alert of the catalogue, each in its own transaction (the beat's job runs it
    as `Actor.system("alerts-evaluate")`)."""
    actor = as_actor(actor)
    if not actor.is_system and not selectors.user_can_manage_alerts(user=actor):
        raise forbidden("Only Global Administrators, Privileged Role Administrators and Security Administrators "
                        "run alerts.")
    return [alert_evaluate(key=d.key, actor=actor, trigger=trigger, now=now) for d in definitions.CATALOGUE]


def alert_run_now(*, actor: User, key: str) -> EvaluationResult:
    if not selectors.user_can_manage_alerts(user=actor):
        raise forbidden("Only Global Administrators, Privileged Role Administrators and Security Administrators "
                        "run alerts.")
    return alert_evaluate(key=key, actor=actor, trigger=AlertRun.Trigger.MANUAL)


# --- Resolve and dismiss ---------------------------------------------------------------------------


def _close(*, actor: User, incident: Incident, reason: str, status: str, action: str) -> Incident:
    if not selectors.user_can_manage_alerts(user=actor):
        raise forbidden("Only Global Administrators, Privileged Role Administrators and Security Administrators "
                        "resolve or dismiss incidents.")
    reason = (reason or "").strip()
    if not reason:
        raise invalid("Say why.", field="reason")
    if len(reason) > MAX_REASON:
        raise invalid(f"Keep the reason under {MAX_REASON} characters.", field="reason")
    now = timezone.now()
    with transaction.atomic():
        # Resolving says "fixed": the next evaluation opens a new incident if it is not.
        # Dismissing says "accepted": it stays current (no new incident) until the condition clears.
        is_current = False if status == Incident.Status.RESOLVED else Incident.objects.filter(
            pk=incident.pk).values_list("is_current", flat=True).first()
        changed = Incident.objects.filter(pk=incident.pk, status=Incident.Status.OPEN).update(
            status=status, closed_at=now, closed_by=actor, close_reason=reason, is_current=bool(is_current))
        if not changed:
            raise conflict("That incident is no longer open.")
        incident.refresh_from_db()
        audit_event_record(action=action, actor=actor, target=incident, target_label=incident.title,
                           principal=incident.principal, role=incident.role, scope=incident.scope,
                           justification=reason, before={"status": Incident.Status.OPEN}, after={"status": status})
    return incident


def incident_resolve(*, actor: User, incident: Incident, reason: str) -> Incident:
    return _close(actor=actor, incident=incident, reason=reason, status=Incident.Status.RESOLVED,
                  action="alert.incident_resolve")


def incident_dismiss(*, actor: User, incident: Incident, reason: str) -> Incident:
    return _close(actor=actor, incident=incident, reason=reason, status=Incident.Status.DISMISSED,
                  action="alert.incident_dismiss")


# --- Convert permanent active to eligible ----------------------------------------------------------


@dataclass
class BulkResult:
    assignment_id: int
    principal: str
    role: str
    scope: str
    done: bool
    message: str


def assignment_make_eligible_bulk(*, actor: User, assignment_ids: list[int], justification: str,
                                  end_at_for: dict[int, datetime | None] | None = None) -> list[BulkResult]:
    """The discovery wizard: convert several permanent active assignments, each in its own
    transaction (one refusal does not undo the others). Emergency access accounts are skipped.
    `end_at_for` gives the end shown in the preview (the policy's limit where permanent eligibility
    is not allowed). One summary audit event records the whole run."""
    if not (justification or "").strip():
        raise invalid("Say why.", field="justification")
    end_at_for = end_at_for or {}
    results = []
    found = (Assignment.objects.filter(pk__in=assignment_ids)
             .select_related("principal", "principal__user", "role", "scope").order_by("pk"))
    for a in found:
        label = dict(principal=str(a.principal), role=a.role.name, scope=a.scope.path)
        user = getattr(a.principal, "user", None)
        if user is not None and user.is_emergency_access:
            results.append(BulkResult(a.pk, **label, done=False,
                                      message="Skipped: emergency access accounts keep permanent active assignments."))
            continue
        try:
            eligible = assignment_make_eligible(actor=actor, assignment=a, end_at=end_at_for.get(a.pk),
                                                justification=justification)
            until = f"until {eligible.end_at:%Y-%m-%d} UTC" if eligible.end_at else "permanently"
            results.append(BulkResult(a.pk, **label, done=True, message=f"Now eligible {until}."))
        except DomainError as error:
            results.append(BulkResult(a.pk, **label, done=False, message=error.message))
    seen = {r.assignment_id for r in results}
    results += [BulkResult(pk, "", "", "", False, "No such assignment.") for pk in assignment_ids if pk not in seen]
    with transaction.atomic():
        audit_event_record(action="assignment.make_eligible_bulk", actor=actor, justification=justification,
                           target_type="alerts.discovery", target_label="Convert permanent active to eligible",
                           after={"converted": [r.assignment_id for r in results if r.done],
                                  "refused": {str(r.assignment_id): r.message for r in results if not r.done}})
    return results


# --- Fixes in place --------------------------------------------------------------------------------


def _require_open(incident: Incident) -> None:
    if not Incident.objects.filter(pk=incident.pk, status=Incident.Status.OPEN).exists():
        raise conflict("That incident is no longer open.")


def _affected_assignment(*, incident: Incident, assignment_id: int) -> Assignment:
    _require_open(incident)
    ids = {row.get("assignment_id") for row in incident.affected}
    if assignment_id not in ids:
        raise not_found("That assignment is not part of this incident.")
    assignment = (Assignment.objects.select_related("principal", "role", "scope").filter(pk=assignment_id).first())
    if assignment is None:
        raise not_found("That assignment no longer exists.")
    return assignment


def _after_fix(*, actor: User, incident: Incident, fix: str, message: str, **refs) -> None:
    audit_event_record(action="alert.incident_fix", actor=actor, target=incident, target_label=incident.title,
                       principal=incident.principal, role=incident.role, scope=incident.scope, message=message,
                       after={"fix": fix, **{k: v for k, v in refs.items() if v is not None}})


def _reevaluate(key: str, actor: Actor | User) -> None:
    """After a fix: evaluate the alert again so the incident clears at once when the fix cleared the
    condition. Runs after the fix's transaction block; a failure leaves it to the schedule."""
    try:
        alert_evaluate(key=key, actor=actor, trigger=AlertRun.Trigger.FIX)
    except Exception:  # noqa: BLE001 — the fix stands; the schedule re-evaluates later
        logger.exception("Re-evaluating alert %s after a fix failed", key)


def incident_fix_remove_assignment(*, actor: User, incident: Incident, assignment_id: int,
                                   justification: str) -> Assignment:
    if definitions.FIX_REMOVE not in definitions.BY_KEY[incident.alert_key].fixes:
        raise invalid("This alert does not offer removing assignments.")
    if not (justification or "").strip():
        raise invalid("Say why.", field="justification")
    assignment = _affected_assignment(incident=incident, assignment_id=assignment_id)
    with transaction.atomic():
        removed = assignment_remove(actor=actor, assignment=assignment, justification=justification)
        _after_fix(actor=actor, incident=incident, fix=definitions.FIX_REMOVE,
                   message=f"Removed {removed} from the incident.", assignment_id=removed.pk)
    _reevaluate(incident.alert_key, actor)
    return removed


def incident_fix_make_eligible(*, actor: User, incident: Incident, assignment_id: int, justification: str
                               ) -> Assignment:
    if definitions.FIX_MAKE_ELIGIBLE not in definitions.BY_KEY[incident.alert_key].fixes:
        raise invalid("This alert does not offer converting assignments to eligible.")
    assignment = _affected_assignment(incident=incident, assignment_id=assignment_id)
    setting = assignment_selectors.role_setting_effective(role=assignment.role, scope=assignment.scope)
    end_at = None if setting.allow_permanent_eligible else timezone.now() + assignment_selectors.expiration_delta(
        setting.expire_eligible_after)
    with transaction.atomic():
        eligible = assignment_make_eligible(actor=actor, assignment=assignment, end_at=end_at,
                                            justification=justification)
        _after_fix(actor=actor, incident=incident, fix=definitions.FIX_MAKE_ELIGIBLE,
                   message=f"Converted assignment #{assignment.pk} to eligible #{eligible.pk}.",
                   assignment_id=assignment.pk, eligible_id=eligible.pk)
    _reevaluate(incident.alert_key, actor)
    return eligible


def _incident_setting(incident: Incident, setting_id: int | None = None) -> RoleSetting:
    """The role setting a fix applies to: one the incident lists (the only one if none is named)."""
    _require_open(incident)
    listed = [(item.get("data") or {}).get("setting_id") for item in incident.items] or [
        (incident.data or {}).get("setting_id")]
    listed = [pk for pk in listed if pk is not None]
    if setting_id is None:
        if len(listed) != 1:
            raise invalid("Choose the role setting to fix.", field="setting_id")
        setting_id = listed[0]
    elif setting_id not in listed:
        raise not_found("That role setting is not part of this incident.")
    setting = RoleSetting.objects.select_related("role", "scope").filter(pk=setting_id).first()
    if setting is None:
        raise not_found("The role setting of this incident no longer exists.")
    return setting


def incident_fix_require_mfa(*, actor: User, incident: Incident, setting_id: int | None = None,
                             mfa_verified_at: datetime | None = None) -> RoleSetting:
    if definitions.FIX_REQUIRE_MFA not in definitions.BY_KEY[incident.alert_key].fixes:
        raise invalid("This alert does not offer requiring MFA.")
    setting = _incident_setting(incident, setting_id)
    with transaction.atomic():
        updated = role_setting_update(actor=actor, role=setting.role, scope=setting.scope,
                                      values={"require_mfa_on_activation": True}, mfa_verified_at=mfa_verified_at)
        _after_fix(actor=actor, incident=incident, fix=definitions.FIX_REQUIRE_MFA,
                   message=f"Required MFA on activation of {setting.role.name} at {setting.scope.path}.",
                   setting_id=setting.pk)
    _reevaluate(incident.alert_key, actor)
    return updated


def incident_fix_add_approvers(*, actor: User, incident: Incident, approver_ids: list[int],
                               setting_id: int | None = None, mfa_verified_at: datetime | None = None) -> RoleSetting:
    if definitions.FIX_ADD_APPROVERS not in definitions.BY_KEY[incident.alert_key].fixes:
        raise invalid("This alert does not offer adding approvers.")
    if not approver_ids:
        raise invalid("Choose at least one approver.", field="approvers")
    setting = _incident_setting(incident, setting_id)
    current = assignment_selectors.role_setting_approver_ids(setting=setting)
    with transaction.atomic():
        updated = role_setting_update(actor=actor, role=setting.role, scope=setting.scope, values={},
                                      approver_ids=sorted(set(current) | set(approver_ids)),
                                      mfa_verified_at=mfa_verified_at)
        _after_fix(actor=actor, incident=incident, fix=definitions.FIX_ADD_APPROVERS,
                   message=f"Added approvers to {setting.role.name} at {setting.scope.path}.",
                   setting_id=setting.pk, approver_ids=sorted(set(approver_ids) - set(current)))
    _reevaluate(incident.alert_key, actor)
    return updated


# --- Emergency access sign-in ----------------------------------------------------------------------


def alert_emergency_sign_in(*, user, at: datetime | None = None) -> Incident | None:
    """Every sign-in by an emergency access account raises a high-severity incident at once and
    emails the Global Administrators and Privileged Role Administrators. A no-op for other users."""
    if not getattr(user, "is_emergency_access", False):
        return None
    at = at or timezone.now()
    definition = definitions.BY_KEY[definitions.EMERGENCY_SIGN_IN]
    # Everything in one savepoint: if anything fails, the caller's transaction (a sign-in) stays usable.
    with transaction.atomic():
        setting = AlertSetting.objects.filter(key=definition.key).first()
        if setting is not None and not setting.enabled:
            return None
        principal = getattr(user, "principal", None)
        finding = definitions.Finding(
            subject_key=f"sign-in:{user.pk}:{at.isoformat()}",
            title=f"Emergency access account {user} signed in at {at:%Y-%m-%d %H:%M:%S} UTC",
            detail="Every use of an emergency access account is alerted. Confirm who used it and why.",
            principal=principal, role=None, scope=None,
            data={"user_id": user.pk, "username": user.get_username(), "at": at.isoformat()},
        )
        incident = _incident_open(definition=definition, finding=finding, now=at, actor=user)
        Incident.objects.filter(pk=incident.pk).update(is_current=False)  # an event: never "cleared"
        incident.is_current = False
    return incident


def alert_emergency_sign_in_receiver(sender, request=None, user=None, **kwargs) -> None:
    """`user_logged_in` receiver. It runs on everyone's sign-in, so it never raises: a failure here
    is logged and must not stop the sign-in."""
    try:
        alert_emergency_sign_in(user=user, at=timezone.now())
    except Exception:  # noqa: BLE001
        logger.exception("Could not raise the emergency access sign-in incident for user %s", getattr(user, "pk", None))


# --- Break-glass activation and its overdue review ------------------------------------------------


def _break_glass_incident(*, key: str, subject_key: str, title: str, detail: str, principal, role, scope,
                          data: dict, at: datetime, actor, also_notify: tuple[str, ...] = ()) -> Incident | None:
    """One event incident (never cleared by an evaluation), emailed to the role's administrators (and
    `also_notify`) at once (high severity), in the caller's transaction. None when the alert is off."""
    definition = definitions.BY_KEY[key]
    setting = AlertSetting.objects.filter(key=key).first()
    if setting is not None and not setting.enabled:
        return None
    finding = definitions.Finding(subject_key=subject_key, title=title, detail=detail, principal=principal,
                                  role=role, scope=scope, data=data)
    incident = _incident_open(definition=definition, finding=finding, now=at, actor=actor, also_notify=also_notify)
    Incident.objects.filter(pk=incident.pk).update(is_current=False)  # an event: never "cleared"
    incident.is_current = False
    return incident


def alert_break_glass_activation(*, request_id: str, principal, role, scope, reason: str, at: datetime,
                                 review_due_at: datetime, review_url: str, actor) -> Incident | None:
    """A break-glass activation (the request pipeline's `selfservice` app calls this in its transaction)."""
    return _break_glass_incident(
        key=definitions.BREAK_GLASS_ACTIVATION, subject_key=f"break-glass:{request_id}",
        title=f"Break-glass: {principal} activated {role.name} at {scope.path} without approval",
        detail=f"Reason: {reason}\nPost-hoc review due by {review_due_at:%Y-%m-%d %H:%M} UTC: {review_url}",
        principal=principal, role=role, scope=scope, at=at, actor=actor,
        data={"request_id": request_id, "review_url": review_url, "review_due_at": review_due_at.isoformat()})


def alert_break_glass_review_overdue(*, review_id: int, principal, role, scope, due_at: datetime, at: datetime,
                                     review_url: str, actor, also_notify: tuple[str, ...] = ()) -> Incident | None:
    """A post-hoc review still open when due: emailed to the role's administrators and `also_notify`
    (the fallback approvers of the role's approval stages)."""
    return _break_glass_incident(also_notify=also_notify,
        key=definitions.BREAK_GLASS_REVIEW_OVERDUE, subject_key=f"break-glass-review:{review_id}",
        title=f"Break-glass review overdue: {principal}'s activation of {role.name} at {scope.path}",
        detail=f"It was due by {due_at:%Y-%m-%d %H:%M} UTC and nobody has completed it: {review_url}",
        principal=principal, role=role, scope=scope, at=at, actor=actor,
        data={"review_id": review_id, "review_url": review_url, "due_at": due_at.isoformat()})


# --- Directory sync failed or refused --------------------------------------------------------------


def alert_directory_sync_refused(*, source_key: str, source_name: str, run_id: int, reason: str, actor: Actor,
                                 at: datetime | None = None) -> Incident | None:
    """A directory source's run failed or was refused: one current high-severity incident per source
    (emailed to the directory administrators when it opens), refreshed by further failures and cleared
    by the next successful run (`alert_directory_sync_recovered`). None when the alert is turned off."""
    at = at or timezone.now()
    definition = definitions.BY_KEY[definitions.DIRECTORY_SYNC_REFUSED]
    subject_key = f"source:{source_key}"
    title = f"Directory sync of {source_name} did not apply"
    data = {"source": source_key, "source_name": source_name, "run_id": run_id, "reason": reason[:2000]}
    with transaction.atomic():
        setting = AlertSetting.objects.filter(key=definition.key).first()
        if setting is not None and not setting.enabled:
            return None
        current = (Incident.objects.select_for_update()
                   .filter(alert_key=definition.key, subject_key=subject_key, is_current=True).first())
        if current is not None:
            runs = [*current.data.get("run_ids", []), run_id][-20:]
            Incident.objects.filter(pk=current.pk).update(last_seen_at=at, detail=reason[:5000],
                                                          data={**data, "run_ids": runs})
            current.refresh_from_db()
            return current
        finding = definitions.Finding(subject_key=subject_key, title=title, detail=reason[:5000],
                                      data={**data, "run_ids": [run_id]})
        return _incident_open(definition=definition, finding=finding, now=at, actor=actor)


def alert_directory_sync_recovered(*, source_key: str, actor: Actor, at: datetime | None = None) -> int:
    """The source's run succeeded: clear its current incident, if any (audited)."""
    return _clear_subject(key=definitions.DIRECTORY_SYNC_REFUSED, subject_key=f"source:{source_key}",
                          now=at or timezone.now(), actor=actor)


def _clear_subject(*, key: str, subject_key: str, now: datetime, actor: Actor) -> int:
    with transaction.atomic():
        current = Incident.objects.filter(alert_key=key, subject_key=subject_key, is_current=True)
        keep = set(Incident.objects.filter(alert_key=key, is_current=True).exclude(subject_key=subject_key)
                   .values_list("subject_key", flat=True))
        if not current.exists():
            return 0
        return _clear(key=key, keep=keep, now=now, actor=actor)
