"""State changes of the request rules: editing them, auto-approval rules and their on-call rosters; and
the hooks the request pipeline calls on every self activation (`activation_rules_check`,
`auto_approval_waiver`, `activation_form_note`; registered in `apps.ready`). Break-glass is
`selfservice.breakglass`; the request catalogue `selfservice.catalogue`.

Each change runs in one transaction with its audit event; emails go through the outbox (the alert
incidents') in the same transaction.
"""

import zoneinfo
from datetime import datetime, timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from approvals import hooks
from assignments import rules as assignment_rules
from assignments import selectors as assignment_selectors
from assignments.conditions import check_activation_conditions, parse_time_windows
from assignments.models import Principal, RoleSetting, User
from audit.models import AuditEvent
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.errors import DomainError, FieldErrors, conflict, forbidden, invalid, not_found
from provisioning.outbound import OutboundAddressRefused, PinnedTransport
from provisioning.urlpolicy import outbound_url_problem

from . import checks, rosters, selectors
from .models import AutoApprovalRule, OnCallShift, RequestRules, RequestWaiver

_AUTO = Actor.system("auto-approval")
RULE_FIELDS = ("justification_pattern", "justification_hint", "justification_min_length", "ticket_pattern",
               "ticket_hint", "ticket_endpoint_url", "allow_break_glass", "break_glass_review_hours")
MAX_ROSTER_BYTES = 1024 * 1024


# --- hooks of the request pipeline ------------------------------------------------------------------


def activation_rules_check(draft: hooks.ActivationDraft) -> None:
    """Justification and ticket rules of the activation's policy: patterns first (every mistake at
    once), then the ticket endpoint, asked only about a well-formed number."""
    if draft.setting is None:
        _setting, request_rules = selectors.request_rules_effective(role=draft.role, scope=draft.scope)
    else:
        request_rules = selectors.request_rules_for(setting=draft.setting)
    if request_rules is None:
        return
    checks.justification_and_ticket_check(rules=request_rules, justification=draft.justification,
                                          ticket_number=draft.ticket_number, role_name=draft.role.name)
    if request_rules.ticket_endpoint_url and draft.ticket_number:
        checks.ticket_endpoint_check(url_template=request_rules.ticket_endpoint_url,
                                     ticket_number=draft.ticket_number)


def _rule_holds(rule: AutoApprovalRule, draft: hooks.ActivationDraft) -> bool:
    actor = draft.actor
    if rule.max_duration_minutes is not None and draft.duration_minutes > rule.max_duration_minutes:
        return False
    if rule.ticket_pattern:
        try:
            if not (draft.ticket_number and checks.pattern_fullmatch(rule.ticket_pattern, draft.ticket_number,
                                                                     field="ticket_number", what="")):
                return False
        except DomainError:  # a pattern that ran out of time approves nothing: the request waits for approvers
            return False
    if rule.time_windows:
        try:
            check_activation_conditions(trusted_networks="", allowed_time_windows=rule.time_windows, client_ip=None,
                                        at=draft.start_at, time_zone=rule.time_windows_zone)
        except DomainError:
            return False
    if rule.group_id is not None and rule.group_id not in assignment_selectors.principal_group_ids(
            principal=actor.principal, at=draft.now):
        return False
    if rule.on_call and not OnCallShift.objects.filter(rule=rule, user=actor.user, start_at__lte=draft.start_at,
                                                       end_at__gt=draft.start_at).exists():
        return False
    return True


def _conditions(rule: AutoApprovalRule) -> dict:
    return {"group": rule.group.display_name if rule.group_id else None, "on_call": rule.on_call,
            "time_windows": rule.time_windows or None, "time_windows_zone": rule.time_windows_zone,
            "ticket_pattern": rule.ticket_pattern or None, "max_duration_minutes": rule.max_duration_minutes}


def auto_approval_waiver(draft: hooks.ActivationDraft) -> hooks.Waiver | None:
    """The first enabled auto-approval rule of the policy whose conditions all hold, as a waiver."""
    for rule in selectors.auto_approval_rules_for(setting=draft.setting, enabled_only=True):
        if not _rule_holds(rule, draft):
            continue
        message = f"Approved automatically by the rule “{rule.name}”."

        def record(request, rule=rule, message=message) -> None:
            RequestWaiver.objects.create(request=request, kind=RequestWaiver.Kind.AUTO_APPROVAL, rule=rule,
                                         rule_name=rule.name, created_at=draft.now)
            audit_event_record(action="request.auto_approve", actor=_AUTO, target=request,
                               principal=request.principal, role=request.role, scope=request.scope,
                               message=message, correlation_id=request.pk,
                               after={"rule_id": rule.pk, "rule_name": rule.name, "conditions": _conditions(rule)})

        return hooks.Waiver(message=message, record=record)
    return None


def activation_form_note(setting, eligible) -> hooks.FormNote | None:
    """Hints on the activation page: the justification and ticket rules, and the break-glass link."""
    request_rules = selectors.request_rules_for(setting=setting)
    if request_rules is None:
        return None
    justification = []
    if request_rules.justification_min_length:
        justification.append(f"At least {request_rules.justification_min_length} characters.")
    if request_rules.justification_hint:
        justification.append(request_rules.justification_hint)
    ticket = [request_rules.ticket_hint] if request_rules.ticket_hint else []
    if request_rules.ticket_endpoint_url:
        ticket.append("The number is checked with the ticket system.")
    lines = []
    if request_rules.allow_break_glass and setting.require_approval:
        lines.append(("Break-glass", "In an emergency you may approve this activation yourself, with a reason; "
                      "the administrators are alerted and review it.",
                      reverse("selfservice:break_glass", args=[eligible.pk])))
    return hooks.FormNote(help_texts={"justification": " ".join(justification), "ticket_number": " ".join(ticket)},
                          policy_lines=tuple(lines))


# --- request rules ------------------------------------------------------------------------------------


def _manager(actor, setting: RoleSetting, mfa_verified_at: datetime | None, what: str) -> Actor:
    if actor is None or not (isinstance(actor, Actor) or getattr(actor, "is_authenticated", False)):
        raise forbidden("Sign in first.")
    actor = as_actor(actor).with_mfa_verified_at(mfa_verified_at)
    assignment_rules.check_actor_can_manage(actor=actor, role=setting.role, scope=setting.scope)
    assignment_rules.check_admin_mfa(actor=actor, what=f"{what} of {setting.role.name} at {setting.scope.path}")
    return actor


def request_rules_values(rules: RequestRules | None) -> dict:
    defaults = RequestRules()
    return {name: getattr(rules or defaults, name) for name in RULE_FIELDS}


def request_rules_validate(*, values: dict) -> dict:
    """Every mistake at once; returns the cleaned values (all of `RULE_FIELDS`)."""
    found = FieldErrors()
    clean = request_rules_values(None)
    for name in RULE_FIELDS:
        if name in values and values[name] is not None:
            clean[name] = values[name].strip() if isinstance(values[name], str) else values[name]
    for name in ("justification_pattern", "ticket_pattern"):
        problem = checks.pattern_problem(clean[name])
        if problem:
            found.add(name, problem)
    problem = checks.ticket_endpoint_problem(clean["ticket_endpoint_url"])
    if problem:
        found.add("ticket_endpoint_url", problem)
    for name, low, high in (("justification_min_length", 0, 2000), ("break_glass_review_hours", 1, 24 * 30)):
        try:
            clean[name] = int(clean[name])
        except (TypeError, ValueError):
            found.add(name, "Give a whole number.")
            continue
        if not low <= clean[name] <= high:
            found.add(name, f"Give a number between {low} and {high}.")
    clean["allow_break_glass"] = bool(clean["allow_break_glass"])
    found.raise_if_any()
    return clean


def _setting(setting: RoleSetting | int) -> RoleSetting:
    found = (RoleSetting.objects.select_related("role", "scope").filter(pk=getattr(setting, "pk", setting)).first())
    if found is None:
        raise not_found("No such role setting.")
    return found


def request_rules_update(*, actor: Actor | User, setting: RoleSetting | int, values: dict,
                         mfa_verified_at: datetime | None = None) -> RequestRules:
    """Set the justification, ticket and break-glass rules of a role setting (its administrators, with a
    fresh MFA verification), audited with the values before and after."""
    setting = _setting(setting)
    actor = _manager(actor, setting, mfa_verified_at, "change the request rules")
    clean = request_rules_validate(values=values)
    with transaction.atomic():
        RoleSetting.objects.select_for_update().filter(pk=setting.pk).first()
        current = RequestRules.objects.filter(setting=setting).first()
        before = request_rules_values(current)
        if before == clean and current is not None:
            return current
        current = current or RequestRules(setting=setting)
        for name, value in clean.items():
            setattr(current, name, value)
        current.updated_by = actor.user
        current.save()
        audit_event_record(action="request_rules.update", actor=actor, target=setting, role=setting.role,
                           scope=setting.scope, before=before, after=request_rules_values(current))
    return current


# --- auto-approval rules ------------------------------------------------------------------------------


def _zone_ok(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def auto_approval_rule_create(*, actor: Actor | User, setting: RoleSetting | int, name: str,
                              group: Principal | int | None = None, on_call: bool = False, roster_url: str = "",
                              roster_zone: str = "UTC", time_windows: str = "", time_windows_zone: str = "UTC",
                              ticket_pattern: str = "", max_duration_minutes: int | None = None,
                              mfa_verified_at: datetime | None = None) -> AutoApprovalRule:
    """Add an auto-approval rule to a role setting (after its existing ones). At least one condition."""
    setting = _setting(setting)
    actor = _manager(actor, setting, mfa_verified_at, "add an auto-approval rule")
    found = FieldErrors()
    name, roster_url, time_windows = (name or "").strip(), (roster_url or "").strip(), (time_windows or "").strip()
    ticket_pattern = (ticket_pattern or "").strip()
    if not name:
        found.add("name", "Give the rule a name.")
    group_obj = None
    if group not in (None, ""):
        group_obj = Principal.objects.filter(pk=getattr(group, "pk", group), kind=Principal.Kind.GROUP).first()
        if group_obj is None:
            found.add("group", "There is no such group.")
    with found.check():
        parse_time_windows(time_windows)
    for field, zone in (("time_windows_zone", time_windows_zone), ("roster_zone", roster_zone)):
        if not _zone_ok(zone or ""):
            found.add(field, f"Unknown time zone {zone!r}.")
    problem = checks.pattern_problem(ticket_pattern)
    if problem:
        found.add("ticket_pattern", problem)
    if roster_url:
        problem = outbound_url_problem(roster_url)
        if problem:
            found.add("roster_url", problem)
    if max_duration_minutes not in (None, ""):
        try:
            max_duration_minutes = int(max_duration_minutes)
        except (TypeError, ValueError):
            found.add("max_duration_minutes", "Give the duration in minutes.")
        else:
            if not 5 <= max_duration_minutes <= setting.max_activation_minutes:
                found.add("max_duration_minutes", f"Give between 5 and {setting.max_activation_minutes} minutes "
                                                  "(the policy's maximum).")
    else:
        max_duration_minutes = None
    if not (group_obj or on_call or time_windows or ticket_pattern or max_duration_minutes):
        found.add(None, "Set at least one condition; to approve every activation, turn approval off instead.")
    found.raise_if_any()
    now = timezone.now()
    with transaction.atomic():
        RoleSetting.objects.select_for_update().filter(pk=setting.pk).first()
        position = AutoApprovalRule.objects.filter(setting=setting).count()
        rule = AutoApprovalRule.objects.create(
            setting=setting, name=name[:200], position=position, group=group_obj, on_call=bool(on_call),
            roster_url=roster_url, roster_zone=roster_zone or "UTC", time_windows=time_windows,
            time_windows_zone=time_windows_zone or "UTC", ticket_pattern=ticket_pattern,
            max_duration_minutes=max_duration_minutes, created_at=now, created_by=actor.user)
        audit_event_record(action="auto_approval_rule.create", actor=actor, target=rule, target_label=rule.name,
                           role=setting.role, scope=setting.scope, after={"name": rule.name, **_conditions(rule)})
    return rule


def _rule(rule: AutoApprovalRule | int) -> AutoApprovalRule:
    found = (AutoApprovalRule.objects.select_related("setting", "setting__role", "setting__scope", "group")
             .filter(pk=getattr(rule, "pk", rule)).first())
    if found is None:
        raise not_found("No such auto-approval rule.")
    return found


def auto_approval_rule_delete(*, actor: Actor | User, rule: AutoApprovalRule | int,
                              mfa_verified_at: datetime | None = None) -> None:
    rule = _rule(rule)
    actor = _manager(actor, rule.setting, mfa_verified_at, "delete an auto-approval rule")
    with transaction.atomic():
        if not AutoApprovalRule.objects.filter(pk=rule.pk).exists():
            raise conflict("That rule has already been deleted.")
        audit_event_record(action="auto_approval_rule.delete", actor=actor, target=rule, target_label=rule.name,
                           role=rule.setting.role, scope=rule.setting.scope,
                           before={"name": rule.name, **_conditions(rule)})
        AutoApprovalRule.objects.filter(pk=rule.pk).delete()


def _fetch_roster(url: str) -> bytes:
    problem = outbound_url_problem(url)
    if problem:
        raise invalid(f"The roster cannot be fetched: {problem}", field="roster_url")
    timeout = settings.PIM_TICKET_CHECK_TIMEOUT_SECONDS
    try:
        with httpx.Client(transport=PinnedTransport(), timeout=timeout, follow_redirects=False,
                          trust_env=False) as client, client.stream("GET", url) as response:
            if response.status_code != 200:
                raise invalid(f"The roster URL answered HTTP {response.status_code}.", field="roster_url")
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_ROSTER_BYTES:
                    raise invalid("The roster is larger than 1 MB.", field="roster_url")
            return body
    except OutboundAddressRefused as error:
        raise invalid(f"The roster cannot be fetched: {error}", field="roster_url")
    except httpx.TimeoutException:
        raise invalid(f"The roster URL did not answer within {timeout:g} seconds.", field="roster_url")
    except httpx.HTTPError as error:
        raise invalid(f"The roster URL could not be reached: {error}", field="roster_url")


def _roster_text(content: bytes | str) -> str:
    return content.decode("utf-8", "replace") if isinstance(content, bytes) else content


def _roster_shifts(rule: AutoApprovalRule, content: str, now: datetime) -> tuple[list, list, list]:
    """The shift rows `content` expands to for `rule` from a day before `now` to the horizon: (rows,
    summaries of events naming nobody known, why events were left out). Refuses a text that is not
    iCalendar (field "roster")."""
    parsed = rosters.roster_parse(content, zone_name=rule.roster_zone, since=now - timedelta(days=1),
                                  until=now + timedelta(days=settings.PIM_ROSTER_HORIZON_DAYS))
    names = {name for shift in parsed.shifts for name in shift.names}
    users = {}
    for user in User.objects.filter(is_active=True).filter(username__in=names) | User.objects.filter(
            is_active=True, email__in=names):
        users[user.username.lower()] = user
        if user.email:
            users[user.email.lower()] = user
    rows, unmatched = [], []
    for shift in parsed.shifts:
        matched = {users[name].pk: users[name] for name in shift.names if name in users}
        if not matched:
            unmatched.append(shift.summary)
        rows += [OnCallShift(rule=rule, user=user, start_at=shift.start_at, end_at=shift.end_at,
                             summary=shift.summary) for user in matched.values()]
    return rows, unmatched, parsed.skipped


def _roster_store(*, rule: AutoApprovalRule, actor: Actor, action: str, content: str, rows: list, unmatched: list,
                  skipped: list, now: datetime, fetch_error: str = "", refresh: bool = False) -> dict | None:
    """Replace the rule's shifts with `rows` and keep `content` as its last good copy, in one transaction
    with its audit event (under the rule's lock). A refresh that changes nothing (the same shifts, the
    same fetch status) writes only when it checked; it is not audited."""
    with transaction.atomic():
        locked = AutoApprovalRule.objects.select_for_update().filter(pk=rule.pk).first()
        if locked is None:
            raise conflict("That rule has been deleted.")
        current = list(OnCallShift.objects.filter(rule=rule).values_list("user_id", "start_at", "end_at", "summary"))
        new = [(row.user.pk, row.start_at, row.end_at, row.summary) for row in rows]
        summary = {"shifts": len(rows), "replaced": len(current), "events_naming_nobody_known": len(unmatched),
                   "skipped": skipped[:50]}
        if fetch_error:
            summary["fetch_error"] = fetch_error
        unchanged = sorted(current) == sorted(new) and locked.roster_fetch_error == fetch_error and \
            locked.roster_content == content
        AutoApprovalRule.objects.filter(pk=rule.pk).update(
            roster_content=content, roster_fetch_error=fetch_error,
            **({"roster_checked_at": now} if refresh else {}),
            **({} if fetch_error or (refresh and unchanged) else {"roster_imported_at": now}))
        if refresh and unchanged:
            return None
        OnCallShift.objects.filter(rule=rule).delete()
        OnCallShift.objects.bulk_create(rows)
        message = f"{len(rows)} shifts imported." if not fetch_error else (
            f"The roster could not be fetched ({fetch_error}); its last good copy is kept: {len(rows)} shifts.")
        audit_event_record(action=action, actor=actor, target=rule, target_label=rule.name, role=rule.setting.role,
                           scope=rule.setting.scope, after=summary, message=message,
                           outcome=AuditEvent.Outcome.FAILURE if fetch_error else AuditEvent.Outcome.SUCCESS)
    summary["unmatched"] = unmatched[:50]
    return summary


def auto_approval_roster_import(*, actor: Actor | User, rule: AutoApprovalRule | int, content: bytes | None = None,
                                mfa_verified_at: datetime | None = None) -> dict:
    """Replace a rule's on-call shifts with those of an iCalendar file (`content`) or, without one, of
    the rule's roster URL, recurring events expanded to the horizon; the text is kept (the refresh job
    expands it again as time passes). Events naming nobody known are reported, not imported. Audited
    with counts. A fetch or parse that fails refuses and keeps what the rule had."""
    rule = _rule(rule)
    actor = _manager(actor, rule.setting, mfa_verified_at, "import the on-call roster")
    if content is None:
        if not rule.roster_url:
            raise invalid("Upload an iCalendar file, or give the rule a roster URL.", field="roster")
        content = _fetch_roster(rule.roster_url)
    if len(content) > MAX_ROSTER_BYTES:
        raise invalid("The roster is larger than 1 MB.", field="roster")
    now = timezone.now()
    text = _roster_text(content)
    rows, unmatched, skipped = _roster_shifts(rule, text, now)
    return _roster_store(rule=rule, actor=actor, action="auto_approval_rule.roster_import", content=text, rows=rows,
                         unmatched=unmatched, skipped=skipped, now=now)


_ROSTER_REFRESH = Actor.system("roster-refresh")


def auto_approval_roster_refresh(*, rule: AutoApprovalRule | int, now: datetime | None = None) -> dict | None:
    """Fetch the rule's roster URL again (if it has one) and expand the roster again from now: on a
    failed fetch (or a text that is not iCalendar) the last good copy is expanded instead and the
    error recorded on the rule (shown on its page, audited as a failure). Returns the import summary,
    or None when nothing changed."""
    rule = _rule(rule)
    now = now or timezone.now()
    content, error = rule.roster_content, ""
    if rule.roster_url:
        try:
            fetched = _roster_text(_fetch_roster(rule.roster_url))
            _roster_shifts(rule, fetched, now)  # a text that is not iCalendar is a failed fetch
            content = fetched
        except DomainError as refused:
            error = refused.message
    try:
        rows, unmatched, skipped = _roster_shifts(rule, content, now) if content else ([], [], [])
    except DomainError as refused:  # the last good copy no longer parses (a changed zone): keep the shifts
        rows, unmatched, skipped = list(OnCallShift.objects.filter(rule=rule).select_related("user")), [], []
        error = error or refused.message
    return _roster_store(rule=rule, actor=_ROSTER_REFRESH, action="auto_approval_rule.roster_refresh",
                         content=content, rows=rows, unmatched=unmatched, skipped=skipped, now=now,
                         fetch_error=error, refresh=True)


def auto_approval_rosters_refresh_due(*, now: datetime | None = None, limit: int = 200) -> int:
    """Refresh the rosters of the enabled on-call rules not checked for PIM_ROSTER_REFRESH_MINUTES (the
    beat's job). Each rule is claimed by a guarded update of `roster_checked_at` before its fetch, so two
    runs at once refresh it once. Returns how many rules were refreshed."""
    now = now or timezone.now()
    due_before = now - timedelta(minutes=settings.PIM_ROSTER_REFRESH_MINUTES)
    due = list(AutoApprovalRule.objects.filter(enabled=True, on_call=True)
               .filter(Q(roster_url__gt="") | Q(roster_content__gt=""))
               .filter(Q(roster_checked_at__isnull=True) | Q(roster_checked_at__lte=due_before))
               .order_by(F("roster_checked_at").asc(nulls_first=True), "pk")
               .values_list("pk", "roster_checked_at")[:limit])
    done = 0
    for pk, checked_at in due:
        if AutoApprovalRule.objects.filter(pk=pk, roster_checked_at=checked_at).update(roster_checked_at=now) != 1:
            continue  # another run claimed it
        try:
            auto_approval_roster_refresh(rule=pk, now=now)
        except DomainError:  # deleted meanwhile
            continue
        done += 1
    return done
