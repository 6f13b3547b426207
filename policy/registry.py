"""The kinds of versioned configuration. A new kind plugs in with one `register(Kind(...))`, from the
owning capability's registration (`policy.kinds`), naming three functions and how to find its items:

- `snapshot(key) -> dict | None`: the item's whole state now, as plain JSON (None: it does not exist);
- `apply(key=, data=, actor=)`: make the item equal `data` (None: remove it) through its app's ordinary
  service, which checks the actor's rights and MFA, audits, and records the version (`core.config_changes`);
- `diff(before, after) -> list[{"field", "before", "after"}]`: what changed (a field-by-field default);
- `scope_path(key) -> str`: where the item applies, for dual control ("/" for directory-wide items);
- `items() -> {key: data}`: every item that exists now, in a few queries (export, plan, pages);
- `versioned`: whether its owner's services call `core.config_changes` (then every change records a
  version and dual control gates it); unversioned kinds (scopes, roles, eligibility) are exported and
  imported only;
- `normalise(data) -> data`: optional, the canonical form of an imported item (compared with `snapshot`);
- `prunable`: an import in prune mode removes the items of this kind its document does not list (through
  `apply(data=None)`); kinds whose "absent" is not removal (a role setting or an alert falls back to its
  defaults but stays listed) or whose removal is a page's deliberate act (scopes, roles) are never pruned.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from core.errors import invalid


def dict_diff(before: dict | None, after: dict | None) -> list[dict]:
    """Field-by-field: every top-level field whose value differs (a missing item has no fields)."""
    before, after = before or {}, after or {}
    return [{"field": name, "before": before.get(name), "after": after.get(name)}
            for name in sorted(set(before) | set(after)) if before.get(name) != after.get(name)]


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    snapshot: Callable[[str], dict | None]
    apply: Callable[..., Any]
    scope_path: Callable[[str], str]
    items: Callable[[], dict[str, dict]]
    diff: Callable[[dict | None, dict | None], list[dict]] = dict_diff
    versioned: bool = True
    normalise: Callable[[dict | None], dict | None] = field(default=lambda data: data)
    prunable: bool = False


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    KINDS[kind.name] = kind
    return kind


def kind_get(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise invalid(f"Unknown kind of configuration: {name!r}.", field="kind") from None
