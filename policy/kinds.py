"""The kinds of configuration the portal versions and exports, registered once at start-up.

Versioned (their owners' services call `core.config_changes`, so every change records a version and dual
control gates it): role settings and their approval stages, connector mappings, alert settings, and dual
control itself. Exported and imported but not versioned (their own audit events are their history):
scopes, roles with their permissions, eligible assignments.
"""

from datetime import UTC, datetime

from django.utils import timezone

from alerts import definitions as alert_definitions
from alerts.models import AlertSetting
from alerts.services import alert_setting_update
from assignments import services as assignment_services
from assignments.models import ApprovalStage, Assignment, RoleDefinition, RoleSetting, Scope, not_over_q
from connectors.models import Mapping, Target
from connectors.services import mapping_config_key, mapping_create, mapping_delete, mapping_update
from core.errors import invalid

from . import refs
from .models import DualControl
from .registry import Kind, register
from .services import dual_control_set

ROLE_SETTING_FIELDS = assignment_services.ROLE_SETTING_FIELDS


# --- role settings ----------------------------------------------------------------------------------------


def _role_setting_data(setting: RoleSetting, approvers) -> dict:
    data = {name: getattr(setting, name) for name in ROLE_SETTING_FIELDS}
    data["approvers"] = sorted(refs.principal_ref(p) for p in approvers)
    return data


def _role_setting_items() -> dict[str, dict]:
    rows = (RoleSetting.objects.select_related("role", "scope")
            .prefetch_related("approvers__user").order_by("role__slug", "scope__path"))
    return {f"{s.role.slug}@{s.scope.path}": _role_setting_data(s, s.approvers.all()) for s in rows}


def _role_setting_snapshot(key: str) -> dict | None:
    slug, path = refs.split_at(key)
    setting = (RoleSetting.objects.filter(role__slug=slug, scope__path=path)
               .prefetch_related("approvers__user").first())
    return None if setting is None else _role_setting_data(setting, setting.approvers.all())


def _role_setting_apply(*, key: str, data: dict | None, actor) -> None:
    """No service removes a role setting: "absent" is applied as the built-in defaults."""
    slug, path = refs.split_at(key)
    role, scope = refs.role_from_slug(slug), refs.scope_from_path(path)
    if data is None:
        defaults = RoleSetting()
        data = {name: getattr(defaults, name) for name in ROLE_SETTING_FIELDS} | {"approvers": []}
    if not isinstance(data, dict):
        raise invalid(f"The role setting {key} must be a mapping of fields.")
    unknown = set(data) - set(ROLE_SETTING_FIELDS) - {"approvers"}
    if unknown:
        raise invalid(f"Unknown fields of the role setting {key}: {', '.join(sorted(unknown))}.")
    approver_ids = [refs.principal_from_ref(ref).pk for ref in data.get("approvers", [])]
    values = {name: value for name, value in data.items() if name != "approvers"}
    assignment_services.role_setting_update(actor=actor, role=role, scope=scope, values=values,
                                            approver_ids=approver_ids)


# --- approval stages (of a role setting) -------------------------------------------------------------------

_STAGE_REF_FIELDS = ("approvers", "fallback_approvers")


def _stages_data(stages) -> dict | None:
    """The ordered stages of one policy, approvers as portable references; None without stages (the
    setting's own approvers and approvals needed decide)."""
    rows = [{name: (sorted(refs.principal_ref(p) for p in getattr(stage, name).all()) if name in _STAGE_REF_FIELDS
                    else getattr(stage, name)) for name in assignment_services.STAGE_FIELDS} for stage in stages]
    return {"stages": rows} if rows else None


def _stages_query():
    return ApprovalStage.objects.select_related("setting__role", "setting__scope").prefetch_related(
        "approvers__user", "fallback_approvers__user").order_by("setting__role__slug", "setting__scope__path",
                                                                "position")


def _stages_items() -> dict[str, dict]:
    grouped: dict[str, list] = {}
    for stage in _stages_query():
        grouped.setdefault(f"{stage.setting.role.slug}@{stage.setting.scope.path}", []).append(stage)
    return {key: _stages_data(stages) for key, stages in grouped.items()}


def _stages_snapshot(key: str) -> dict | None:
    slug, path = refs.split_at(key)
    return _stages_data(list(_stages_query().filter(setting__role__slug=slug, setting__scope__path=path)))


def _stages_apply(*, key: str, data: dict | None, actor) -> None:
    """Through `role_setting_stages_set` (its rights, step-up, audit); "absent" is no stages."""
    slug, path = refs.split_at(key)
    if data is not None and not (isinstance(data, dict) and isinstance(data.get("stages"), list)):
        raise invalid(f"The approval stages of {key} must be a mapping with a list of stages.")
    stages = []
    for stage in (data or {}).get("stages", []):
        if not isinstance(stage, dict):
            raise invalid(f"Each approval stage of {key} must be a mapping of fields.")
        stages.append({**stage, **{name: [refs.principal_from_ref(ref).pk for ref in stage.get(name) or []]
                                   for name in _STAGE_REF_FIELDS}})
    assignment_services.role_setting_stages_set(actor=actor, role=refs.role_from_slug(slug),
                                                scope=refs.scope_from_path(path), stages=stages)


# --- connector mappings -----------------------------------------------------------------------------------


def _mapping_key_parts(key: str) -> tuple[str, str, str, str]:
    target, sep1, rest = key.partition("|")
    at, sep2, grant = rest.partition("|")
    if not (sep1 and sep2):
        raise invalid(f"{key!r} is not <target>|<role>@<scope>|<grant>.", field="key")
    slug, path = refs.split_at(at)
    return target, slug, path, grant


def _mapping_items() -> dict[str, dict]:
    rows = Mapping.objects.select_related("target", "role", "scope").order_by("target__name", "role__slug",
                                                                              "scope__path", "grant")
    return {mapping_config_key(target=m.target, role=m.role, scope=m.scope, grant=m.grant):
            {"options": m.options, "enabled": m.enabled} for m in rows}


def _mapping_find(key: str) -> Mapping | None:
    target, slug, path, grant = _mapping_key_parts(key)
    return (Mapping.objects.select_related("target", "role", "scope")
            .filter(target__name=target, role__slug=slug, scope__path=path, grant=grant).first())


def _mapping_snapshot(key: str) -> dict | None:
    mapping = _mapping_find(key)
    return None if mapping is None else {"options": mapping.options, "enabled": mapping.enabled}


def _mapping_apply(*, key: str, data: dict | None, actor) -> None:
    """The key names what a mapping maps (target, role, scope, grant): other options are an edit of the
    mapping, absent is its removal, a new key a new mapping. Neither is checked against the target
    here: the grant existed when it was first mapped, and an import or approval must not depend on the
    target being reachable."""
    target_name, slug, path, grant = _mapping_key_parts(key)
    current = _mapping_find(key)
    if current is not None and data is not None:
        if current.enabled != data.get("enabled", True):
            raise invalid(f"The mapping {key} can only be enabled or disabled on the connector's page.")
        if current.options != (data.get("options") or {}):
            mapping_update(actor=actor.user if actor.user else actor, mapping=current, role=current.role,
                           scope=current.scope, grant=current.grant, options=data.get("options") or {},
                           check=False, mfa_verified_at=actor.mfa_verified_at)
        return
    if current is not None:
        mapping_delete(actor=actor.user if actor.user else actor, mapping=current,
                       mfa_verified_at=actor.mfa_verified_at)
    if data is None:
        return
    target = Target.objects.filter(name=target_name).first()
    if target is None:
        raise invalid(f"No connector target {target_name!r}: add it (and its secret) on the Connectors page first.",
                      field="target")
    mapping_create(actor=actor.user if actor.user else actor, target=target, role=refs.role_from_slug(slug),
                   scope=refs.scope_from_path(path), grant=grant, options=data.get("options") or {}, check=False,
                   mfa_verified_at=actor.mfa_verified_at)


# --- alert settings ---------------------------------------------------------------------------------------


def _alert_items() -> dict[str, dict]:
    stored = {s.key: s for s in AlertSetting.objects.all()}
    items = {}
    for definition in alert_definitions.CATALOGUE:
        setting = stored.get(definition.key)
        items[definition.key] = {"enabled": setting.enabled if setting else True,
                                 "thresholds": {**definition.defaults(), **(setting.thresholds if setting else {})}}
    return items


def _alert_snapshot(key: str) -> dict | None:
    definition = alert_definitions.definition_get(key)
    if definition is None:
        return None
    setting = AlertSetting.objects.filter(key=key).first()
    return {"enabled": setting.enabled if setting else True,
            "thresholds": {**definition.defaults(), **(setting.thresholds if setting else {})}}


def _alert_apply(*, key: str, data: dict | None, actor) -> None:
    definition = alert_definitions.definition_get(key)
    if definition is None:
        raise invalid(f"No alert {key!r}.", field="key")
    data = data or {"enabled": True, "thresholds": definition.defaults()}
    alert_setting_update(actor=actor.user if actor.user else actor, key=key, enabled=bool(data.get("enabled", True)),
                         thresholds=data.get("thresholds") or {}, mfa_verified_at=actor.mfa_verified_at)


# --- scopes, roles, eligibility (exported, imported, not versioned here) -------------------------------------


def _scope_name(scope_path: str, kind: str, parent_path: str) -> str:
    if kind == Scope.Kind.RESOURCE:
        return scope_path[len(parent_path) + len("/providers/"):]
    return scope_path.rsplit("/", 1)[-1]


def _scope_items() -> dict[str, dict]:
    rows = (Scope.objects.exclude(kind__in=[Scope.Kind.DIRECTORY, Scope.Kind.GROUP]).select_related("parent")
            .order_by("path"))
    return {s.path: {"kind": s.kind, "name": s.display_name, "parent": s.parent.path} for s in rows}


def _scope_snapshot(key: str) -> dict | None:
    scope = Scope.objects.select_related("parent").filter(path=key).exclude(
        kind__in=[Scope.Kind.DIRECTORY, Scope.Kind.GROUP]).first()
    return None if scope is None else {"kind": scope.kind, "name": scope.display_name, "parent": scope.parent.path}


def _scope_apply(*, key: str, data: dict | None, actor) -> None:
    current = Scope.objects.filter(path=key).first()
    if data is None:
        if current is not None:
            assignment_services.scope_delete(scope=current, actor=actor)
        return
    parent = refs.scope_from_path(data.get("parent", "/"))
    if current is None:
        kind = data.get("kind", "")
        name = _scope_name(key, kind, parent.path)
        if assignment_services.scope_path_for(kind=kind, name=name, parent=parent) != key:
            raise invalid(f"The scope {key} does not fit a {kind} under {parent.path}.", field="scope")
        assignment_services.scope_add(kind=kind, name=name, display_name=data.get("name", ""), parent=parent,
                                      actor=actor)
        return
    if current.kind != data.get("kind"):
        raise invalid(f"The scope {key} is a {current.kind}: a scope's kind cannot change.", field="scope")
    if current.parent_id != parent.pk:
        assignment_services.scope_relocate(scope=current, new_parent=parent, actor=actor)
    if current.display_name != data.get("name"):
        assignment_services.scope_rename(scope=current, display_name=data.get("name", ""), actor=actor)


def _role_data(role: RoleDefinition) -> dict:
    patterns = sorted(role.permissions.all(), key=lambda p: p.pattern)
    return {"name": role.name, "kind": role.kind, "description": role.description, "builtin": role.is_builtin,
            "privileged": role.is_privileged,
            "actions": [p.pattern for p in patterns if not p.is_not_action],
            "not_actions": [p.pattern for p in patterns if p.is_not_action]}


def _role_items() -> dict[str, dict]:
    return {r.slug: _role_data(r) for r in RoleDefinition.objects.prefetch_related("permissions").order_by("slug")}


def _role_snapshot(key: str) -> dict | None:
    role = RoleDefinition.objects.prefetch_related("permissions").filter(slug=key).first()
    return None if role is None else _role_data(role)


def _role_apply(*, key: str, data: dict | None, actor) -> None:
    role = RoleDefinition.objects.filter(slug=key).first()
    if data is None:
        if role is not None:
            assignment_services.role_definition_delete(role=role, actor=actor)
        return
    if data.get("builtin") and role is None:
        raise invalid(f"{key} is marked built-in but this portal has no such built-in role.", field="role")
    if role is None:
        assignment_services.role_definition_add(
            slug=key, name=data.get("name", ""), kind=data.get("kind", ""), description=data.get("description", ""),
            actions=data.get("actions", []), not_actions=data.get("not_actions", []),
            is_privileged=bool(data.get("privileged")), actor=actor)
        return
    if role.kind != data.get("kind"):
        raise invalid(f"The role {key} is a {role.kind} role: a role's kind cannot change.", field="role")
    assignment_services.role_definition_update(
        role=role, actor=actor, name=data.get("name"), description=data.get("description", ""),
        is_privileged=bool(data.get("privileged")), actions=data.get("actions", []),
        not_actions=data.get("not_actions", []))


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def _eligibility_data(assignment: Assignment, now: datetime) -> dict:
    # A start that has passed is no longer a setting (re-creating the assignment elsewhere starts it now):
    # only a future start is part of the configuration, so export → import stays exact whenever it runs.
    data = {"end_at": _iso(assignment.end_at)}
    if assignment.start_at > now:
        data["start_at"] = _iso(assignment.start_at)
    return data


def _eligibility_queryset():
    now = timezone.now()
    return (Assignment.objects.filter(not_over_q(now), kind=Assignment.Kind.ELIGIBLE)
            .select_related("principal__user", "role", "scope"), now)


def _eligibility_key(assignment: Assignment) -> str:
    return f"{refs.principal_ref(assignment.principal)}|{assignment.role.slug}@{assignment.scope.path}"


def _eligibility_items() -> dict[str, dict]:
    rows, now = _eligibility_queryset()
    return {_eligibility_key(a): _eligibility_data(a, now)
            for a in rows.order_by("role__slug", "scope__path", "principal__display_name", "pk")}


def _eligibility_parts(key: str):
    ref, sep, at = key.partition("|")
    if not sep:
        raise invalid(f"{key!r} is not <principal>|<role>@<scope>.", field="key")
    slug, path = refs.split_at(at)
    return ref, slug, path


def _eligibility_find(key: str) -> Assignment | None:
    ref, slug, path = _eligibility_parts(key)
    principal = refs.principal_from_ref(ref)
    rows, _ = _eligibility_queryset()
    return rows.filter(principal=principal, role__slug=slug, scope__path=path).order_by("pk").first()


def _eligibility_snapshot(key: str) -> dict | None:
    found = _eligibility_find(key)
    return None if found is None else _eligibility_data(found, timezone.now())


def _parse_time(value, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise invalid(f"{value!r} is not an ISO 8601 date and time.", field=field) from None
    if timezone.is_naive(parsed):
        raise invalid(f"{value!r} has no time zone.", field=field)
    return parsed


def eligibility_normalise(data: dict | None) -> dict | None:
    """A start in the past means "started": the same configuration as no start (`_eligibility_data`)."""
    if data is None:
        return None
    start = _parse_time(data.get("start_at"), "start_at")
    end = _parse_time(data.get("end_at"), "end_at")
    clean = {"end_at": _iso(end)}
    if start is not None and start > timezone.now():
        clean["start_at"] = _iso(start)
    return clean


def _eligibility_apply(*, key: str, data: dict | None, actor) -> None:
    ref, slug, path = _eligibility_parts(key)
    current = _eligibility_find(key)
    reason = "Applied from the policy configuration"
    if data is None:
        if current is not None:
            assignment_services.assignment_remove(actor=actor, assignment=current, justification=reason)
        return
    data = eligibility_normalise(data)
    start, end = _parse_time(data.get("start_at"), "start_at"), _parse_time(data.get("end_at"), "end_at")
    if current is None:
        assignment_services.assignment_create(
            actor=actor, principal=refs.principal_from_ref(ref), role=refs.role_from_slug(slug),
            scope=refs.scope_from_path(path), kind=Assignment.Kind.ELIGIBLE, start_at=start, end_at=end,
            justification=reason)
        return
    assignment_services.assignment_update(actor=actor, assignment=current, start_at=start, end_at=end,
                                          justification=reason)


# --- dual control ----------------------------------------------------------------------------------------


def _dual_control_items() -> dict[str, dict]:
    return {row.scope.path: {"enabled": True}
            for row in DualControl.objects.select_related("scope").order_by("scope__path")}


def _dual_control_snapshot(key: str) -> dict | None:
    return {"enabled": True} if DualControl.objects.filter(scope__path=key).exists() else None


def _dual_control_apply(*, key: str, data: dict | None, actor) -> None:
    dual_control_set(actor=actor, scope=refs.scope_from_path(key), enabled=bool(data and data.get("enabled", True)))


def register_builtin_kinds() -> None:
    register(Kind(name="role_setting", label="Role setting", snapshot=_role_setting_snapshot,
                  apply=_role_setting_apply, scope_path=lambda key: refs.split_at(key)[1], items=_role_setting_items))
    register(Kind(name="approval_stages", label="Approval stages", snapshot=_stages_snapshot, apply=_stages_apply,
                  scope_path=lambda key: refs.split_at(key)[1], items=_stages_items, prunable=True))
    register(Kind(name="connector_mapping", label="Connector mapping", snapshot=_mapping_snapshot,
                  apply=_mapping_apply, scope_path=lambda key: _mapping_key_parts(key)[2], items=_mapping_items,
                  prunable=True))
    register(Kind(name="alert_setting", label="Alert setting", snapshot=_alert_snapshot, apply=_alert_apply,
                  scope_path=lambda key: "/", items=_alert_items))
    register(Kind(name="dual_control", label="Dual control", snapshot=_dual_control_snapshot,
                  apply=_dual_control_apply, scope_path=lambda key: key, items=_dual_control_items,
                  prunable=True))
    register(Kind(name="scope", label="Scope", snapshot=_scope_snapshot, apply=_scope_apply,
                  scope_path=lambda key: key, items=_scope_items, versioned=False))
    register(Kind(name="role", label="Role", snapshot=_role_snapshot, apply=_role_apply,
                  scope_path=lambda key: "/", items=_role_items, versioned=False))
    register(Kind(name="eligibility", label="Eligible assignment", snapshot=_eligibility_snapshot,
                  apply=_eligibility_apply, scope_path=lambda key: _eligibility_parts(key)[2],
                  items=_eligibility_items, versioned=False, normalise=eligibility_normalise,
                  prunable=True))

