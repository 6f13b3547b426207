"""The configuration as one YAML document, and the plan of what importing one would change.

    version: 1
    scopes:             [{path, kind, name, parent}]
    roles:              [{slug, name, kind, description, builtin, privileged, actions, not_actions}]
    role_settings:      [{role, scope, <every policy field>, approvers: [user:<name> | group:<object id>]}]
    connector_mappings: [{target, role, scope, grant, options, enabled}]
    alert_settings:     [{key, enabled, thresholds}]
    eligibility:        [{principal, role, scope, end_at, start_at (future starts only)}]
    dual_control:       [<scope path>, …]

Each section is a kind of `policy.registry`; an item is its key fields plus its data (the kind's
snapshot). A plan compares each item of the document with the portal's: what would be created or
updated. Sections a document leaves out are not compared. Items of a section that the document does not
list are *unmanaged*: reported (`only_in_portal`, counted in the summary) and left as they are, unless the
plan is made in prune mode (`prune=True`): then those of a prunable kind (eligibility, connector mappings,
approval stages, dual control) are planned as deletions, which the apply makes through the ordinary
services; the others (scopes, roles, role settings, alert settings) stay unmanaged even then.
"""

from dataclasses import dataclass, field

import yaml

from core.errors import DomainError, FieldErrors, invalid

from .registry import KINDS

FORMAT_VERSION = 1

# section → (kind, key fields). The key is the fields joined as the kind spells it (`_key`).
SECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "scopes": ("scope", ("path",)),
    "roles": ("role", ("slug",)),
    "role_settings": ("role_setting", ("role", "scope")),
    "approval_stages": ("approval_stages", ("role", "scope")),  # after role_settings: a stage needs its policy
    "connector_mappings": ("connector_mapping", ("target", "role", "scope", "grant")),
    "alert_settings": ("alert_setting", ("key",)),
    "eligibility": ("eligibility", ("principal", "role", "scope")),
    "dual_control": ("dual_control", ("scope",)),
}


def _key(kind: str, fields: dict) -> str:
    """The key fields joined: `[<first>|]<role>@<scope>[|<grant>]` when they name a role and a scope (a role
    setting, a mapping, an eligibility, or any new kind keyed like them), else the one key field."""
    names = SECTIONS[_section_of(kind)][1]
    if "role" not in names:
        return str(fields[names[0]])
    at = f"{fields['role']}@{fields['scope']}"
    before = [str(fields[n]) for n in names[:names.index("role")]]
    after = [str(fields[n]) for n in names[names.index("scope") + 1:]]
    return "|".join([*before, at, *after])


def _fields(kind: str, key: str) -> dict:
    names = SECTIONS[_section_of(kind)][1]
    if "role" not in names:
        return {names[0]: key}
    before, after = names[:names.index("role")], names[names.index("scope") + 1:]
    parts = key.split("|", len(before))
    values = dict(zip(before, parts[:len(before)], strict=True))
    rest = parts[len(before)]
    at, *tail = rest.split("|", 1) if after else (rest,)
    values["role"], _, values["scope"] = at.partition("@")
    if after:
        values[after[0]] = tail[0] if tail else ""
    return values


def _section_of(kind: str) -> str:
    return next(section for section, (name, _) in SECTIONS.items() if name == kind)


def config_export_document() -> dict:
    document: dict = {"version": FORMAT_VERSION}
    for section, (kind, _) in SECTIONS.items():
        items = KINDS[kind].items()
        if kind == "dual_control":
            document[section] = sorted(items)
        else:
            document[section] = [{**_fields(kind, key), **data} for key, data in items.items()]
    return document


def config_export_yaml() -> str:
    return yaml.safe_dump(config_export_document(), sort_keys=False, allow_unicode=True, width=120)


@dataclass
class Change:
    kind: str
    key: str
    action: str  # "create" | "update" | "delete"
    data: dict | None
    diff: list[dict]

    def as_json(self) -> dict:
        return {"kind": self.kind, "key": self.key, "action": self.action, "data": self.data, "diff": self.diff}


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    unchanged: int = 0
    only_in_portal: list[dict] = field(default_factory=list)
    prune: bool = False

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)

    @property
    def summary(self) -> str:
        unmanaged = ""
        if self.only_in_portal:
            unmanaged = (f" {len(self.only_in_portal)} item{'s' * (len(self.only_in_portal) != 1)} in the portal "
                         "not in the document (unmanaged) left as they are.")
        if not self.changes:
            return f"No changes: the portal matches the document ({self.unchanged} items).{unmanaged}"
        return (f"Plan: {self.count('create')} to create, {self.count('update')} to change, "
                f"{self.count('delete')} to delete, {self.unchanged} unchanged.{unmanaged}")

    def as_json(self) -> dict:
        return {"summary": self.summary, "changes": [c.as_json() for c in self.changes],
                "unchanged": self.unchanged, "only_in_portal": self.only_in_portal,
                "unmanaged": len(self.only_in_portal), "prune": self.prune}

    def as_text(self) -> str:
        """Like `terraform plan`: + to create, ~ to change, - to delete, each changed field before → after."""
        lines = []
        for change in self.changes:
            lines.append(f"{_SIGNS[change.action]} {change.kind} {change.key}")
            for item in change.diff:
                lines.append(f"    {item['field']}: {_short(item['before'])} → {_short(item['after'])}")
        lines.append(self.summary)
        if self.only_in_portal and not self.prune:
            lines.append("Plan with prune to delete the unmanaged eligibility, connector mappings, approval stages "
                         "and dual control; scopes, roles, role settings and alert settings are never pruned.")
        return "\n".join(lines)


_SIGNS = {"create": "+", "update": "~", "delete": "-"}


def _short(value) -> str:
    text = "(none)" if value is None else yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    return text if len(text) <= 200 else text[:197] + "…"


def config_parse(text: str) -> list[tuple[str, str, dict | None]]:
    """(kind, key, data) of every item of a YAML document, in apply order; `invalid` naming every
    mistake of its shape at once."""
    try:
        document = yaml.safe_load(text or "")
    except yaml.YAMLError as error:
        raise invalid(f"This is not valid YAML: {error}", field="document") from None
    if not isinstance(document, dict):
        raise invalid("The document is a YAML mapping with a version and sections.", field="document")
    if document.get("version") != FORMAT_VERSION:
        raise invalid(f"The document's version must be {FORMAT_VERSION}.", field="document")
    found = FieldErrors()
    unknown = set(document) - set(SECTIONS) - {"version"}
    if unknown:
        found.add("document", f"Unknown sections: {', '.join(sorted(unknown))} (known: {', '.join(SECTIONS)}).")
    parsed: list[tuple[str, str, dict | None]] = []
    for section, (kind, key_fields) in SECTIONS.items():
        if section not in document:
            continue
        entries = document[section] or []
        if not isinstance(entries, list):
            found.add("document", f"{section} must be a list.")
            continue
        seen = set()
        for index, entry in enumerate(entries, start=1):
            where = f"{section}[{index}]"
            if kind == "dual_control":
                entry = {"scope": entry} if isinstance(entry, str) else entry
            if not isinstance(entry, dict) or any(not isinstance(entry.get(f), str) or not entry.get(f)
                                                  for f in key_fields):
                found.add("document", f"{where} needs {', '.join(key_fields)}.")
                continue
            key = _key(kind, {f: entry[f] for f in key_fields})
            if key in seen:
                found.add("document", f"{where}: {key} is listed twice.")
                continue
            seen.add(key)
            data = {name: value for name, value in entry.items() if name not in key_fields}
            if kind == "dual_control":
                data = {"enabled": True}
            try:
                data = KINDS[kind].normalise(data)
            except DomainError as error:
                found.add("document", f"{where}: {error.message}")
                continue
            parsed.append((kind, key, data))
    found.raise_if_any()
    return _scopes_parents_first(parsed)


def _scopes_parents_first(parsed: list[tuple[str, str, dict | None]]) -> list[tuple[str, str, dict | None]]:
    """Scopes are created under their parents: order the document's scopes so that a parent it also
    lists comes first (management groups nest without their paths showing it)."""
    scopes = {key: data for kind, key, data in parsed if kind == "scope"}
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(path: str) -> None:
        if path in ordered or path in visiting:
            return
        visiting.add(path)
        parent = (scopes[path] or {}).get("parent")
        if parent in scopes:
            visit(parent)
        ordered.append(path)

    for path in scopes:
        visit(path)
    rest = [item for item in parsed if item[0] != "scope"]
    return [("scope", path, scopes[path]) for path in ordered] + rest


def config_plan(text: str, *, prune: bool = False) -> Plan:
    """What importing `text` would change (reads only). With `prune`, the unlisted items of the prunable
    kinds of the sections the document has are deletions, after every creation and change, in reverse
    section order (an eligibility goes before the dual control above it is lifted)."""
    parsed = config_parse(text)
    plan = Plan(prune=prune)
    current: dict[str, dict[str, dict]] = {}
    listed: dict[str, set[str]] = {}
    for kind, key, data in parsed:
        if kind not in current:
            current[kind] = KINDS[kind].items()
        listed.setdefault(kind, set()).add(key)
        now = current[kind].get(key)
        if now == data:
            plan.unchanged += 1
            continue
        plan.changes.append(Change(kind=kind, key=key, action="create" if now is None else "update", data=data,
                                   diff=KINDS[kind].diff(now, data)))
    document = yaml.safe_load(text)
    for section, (kind, _) in reversed(SECTIONS.items()):
        if section not in document:
            continue
        items = current[kind] if kind in current else KINDS[kind].items()
        for key, now in items.items():
            if key in listed.get(kind, set()):
                continue
            if prune and KINDS[kind].prunable:
                plan.changes.append(Change(kind=kind, key=key, action="delete", data=None,
                                           diff=KINDS[kind].diff(now, None)))
            else:
                plan.only_in_portal.append({"kind": kind, "key": key})
    return plan
