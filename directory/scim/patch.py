"""SCIM PATCH (RFC 7644 §3.5.2) as Entra ID and Okta send it.

What they send, and what this accepts:
- `op` in any case ("Add", "Replace", "Remove");
- with a `path` (`active`, `name.givenName`, `emails[type eq "work"].value`, `members`,
  `members[value eq "…"]`, URN-qualified names) or without one (`value` is an object of attributes,
  whose keys may themselves be paths);
- `active` as a boolean or the strings "True" / "False";
- member removal by `members[value eq "…"]` (Okta) or by `path: members` with a `value` list (Entra).

A user's operations are applied in order to its current document, and the result is checked and
written like a PUT: all or nothing. A group's member operations are applied in order to its current
member set, and only the difference is written. Paths to attributes the portal does not store
(an enterprise extension, phone numbers, …) are accepted and ignored; paths to read-only attributes
are a 400 `mutability`.
"""

import copy

from scim2_models import Path, SCIMException
from scim2_models.path.expressions import CompareOperator, Comparison, LogicalExpr, LogicalOperator, Not, Present

from .errors import bad_request
from .resources import as_bool, read_member_ids
from .schema import GROUP_SCHEMA, PATCH_OP, USER_SCHEMA

MAX_OPERATIONS = 1000
READ_ONLY = {"id", "meta", "groups", "schemas"}
USER_SIMPLE = {"username": "userName", "externalid": "externalId", "displayname": "displayName", "active": "active"}


def operations(body) -> list[tuple[str, str | None, object]]:
    """(op, path, value) of a PatchOp body, checked for shape."""
    if not isinstance(body, dict):
        raise bad_request("The body must be a PatchOp object.", "invalidSyntax")
    values = {key.lower(): value for key, value in body.items() if isinstance(key, str)}
    schemas = values.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH_OP not in schemas):
        raise bad_request(f"A PATCH body names the schema {PATCH_OP}.", "invalidSyntax")
    ops = values.get("operations")
    if not isinstance(ops, list) or not ops:
        raise bad_request("A PATCH body carries a non-empty Operations list.", "invalidSyntax")
    if len(ops) > MAX_OPERATIONS:
        raise bad_request(f"At most {MAX_OPERATIONS} operations per PATCH.", "invalidSyntax")
    result = []
    for op in ops:
        if not isinstance(op, dict):
            raise bad_request("Each operation is an object {op, path, value}.", "invalidSyntax")
        parts = {key.lower(): value for key, value in op.items() if isinstance(key, str)}
        name = parts.get("op")
        if not isinstance(name, str) or name.lower() not in ("add", "replace", "remove"):
            raise bad_request(f"The op is add, replace or remove, not {name!r}.", "invalidSyntax")
        path = parts.get("path")
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise bad_request("A path is a non-empty string.", "invalidPath")
        name = name.lower()
        if name == "remove" and path is None:
            raise bad_request("A remove operation needs a path.", "noTarget")
        if name != "remove" and "value" not in parts:
            raise bad_request(f"An {name} operation needs a value.", "invalidValue")
        result.append((name, path.strip() if path else None, parts.get("value")))
    return result


def _parse(path: str):
    try:
        return Path(path)
    except (SCIMException, ValueError) as error:
        raise bad_request(f"The path {path!r} is not valid: {error}.", "invalidPath") from None


def _matches(item: dict, node) -> bool:
    """A value filter (`type eq "work"`, `value eq "…"`) on one value of a multi-valued attribute."""
    if isinstance(node, LogicalExpr):
        results = (_matches(item, term) for term in node.terms)
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not _matches(item, node.expr)
    lowered = {key.lower(): value for key, value in item.items()}
    if isinstance(node, Present):
        return lowered.get(node.attr_path.attr.lower()) not in (None, "", [])
    if isinstance(node, Comparison):
        actual, expected = lowered.get(node.attr_path.attr.lower()), node.value
        if isinstance(actual, bool) or isinstance(expected, bool):
            if isinstance(expected, str) and expected.lower() in ("true", "false"):
                expected = expected.lower() == "true"
            same = actual == expected
            if node.op == CompareOperator.eq:
                return same
            if node.op == CompareOperator.ne:
                return not same
            raise bad_request("Booleans are compared with eq or ne.", "invalidFilter")
        actual, expected = str(actual or "").lower(), str(expected).lower()
        checks = {CompareOperator.eq: actual == expected, CompareOperator.ne: actual != expected,
                  CompareOperator.co: expected in actual, CompareOperator.sw: actual.startswith(expected),
                  CompareOperator.ew: actual.endswith(expected), CompareOperator.gt: actual > expected,
                  CompareOperator.ge: actual >= expected, CompareOperator.lt: actual < expected,
                  CompareOperator.le: actual <= expected}
        return checks[node.op]
    raise bad_request(f"The value filter {node} is not supported here.", "invalidFilter")


def _template(node) -> dict:
    """The value an `add` to `emails[type eq "work"].value` creates when no value matches."""
    if isinstance(node, Comparison) and node.op == CompareOperator.eq:
        return {node.attr_path.attr: node.value}
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_:
        merged = {}
        for term in node.terms:
            merged.update(_template(term))
        return merged
    raise bad_request(f"No value matches {node}, and it does not say which value to create.", "noTarget")


def _items(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# --- users ---------------------------------------------------------------------------------------------


def _user_key(document: dict, attr: str) -> str | None:
    for key in document:
        if key.lower() == attr:
            return key
    return None


def _apply_user_path(document: dict, op: str, path: str, value) -> None:
    parsed = _parse(path)
    if parsed.schema and parsed.schema.lower() != USER_SCHEMA.lower():
        return  # an extension the portal does not store (enterprise attributes, …): accepted, ignored
    parts = [part.lower() for part in parsed.parts]
    attr, sub = parts[0], (parts[1] if len(parts) > 1 else None)
    if attr in READ_ONLY:
        raise bad_request(f"{path} is read-only.", "mutability")
    if attr in USER_SIMPLE:
        if sub or parsed.value_filter is not None:
            raise bad_request(f"{parsed.parts[0]} has no sub-attributes.", "invalidPath")
        key = USER_SIMPLE[attr]
        if op == "remove":
            document.pop(key, None)
        else:
            document[key] = as_bool(value, "active") if attr == "active" else value
        return
    if attr == "name":
        if parsed.value_filter is not None:
            raise bad_request("name is not multi-valued.", "invalidPath")
        name = document.setdefault("name", {})
        if not isinstance(name, dict):
            name = document["name"] = {}
        if sub:
            if op == "remove":
                for key in [key for key in name if key.lower() == sub]:
                    del name[key]
            else:
                for key in [key for key in name if key.lower() == sub]:
                    del name[key]
                name[parsed.parts[1]] = value
        elif op == "remove":
            document.pop("name", None)
        elif op == "add" and isinstance(value, dict):
            name.update(value)
        else:
            document["name"] = value
        return
    if attr == "emails":
        _apply_emails(document, op, parsed, sub, value)
        return
    # An attribute of the core schema the portal does not store (title, phoneNumbers, addresses, …).


def _apply_emails(document: dict, op: str, parsed, sub: str | None, value) -> None:
    emails = document.get("emails")
    emails = [dict(item) for item in emails] if isinstance(emails, list) else []
    selector = parsed.value_filter
    if selector is None and sub is None:
        if op == "remove":
            emails = []
        elif op == "replace":
            emails = [dict(item) if isinstance(item, dict) else item for item in _items(value)]
        else:
            new = [dict(item) if isinstance(item, dict) else item for item in _items(value)]
            addresses = {str(item.get("value", "")).lower() for item in new if isinstance(item, dict)}
            emails = [item for item in emails if str(item.get("value", "")).lower() not in addresses] + new
        document["emails"] = emails
        return
    targets = [item for item in emails if selector is None or _matches(item, selector)]
    if op == "remove":
        if sub:
            for item in targets:
                for key in [key for key in item if key.lower() == sub]:
                    del item[key]
        else:
            emails = [item for item in emails if item not in targets]
    elif sub:
        if not targets:
            created = _template(selector) if selector is not None else {}
            emails.append(created)
            targets = [created]
        for item in targets:
            for key in [key for key in item if key.lower() == sub]:
                del item[key]
            item[parsed.parts[1]] = value
    else:
        if not isinstance(value, dict):
            raise bad_request("An email is an object {value, type, primary}.")
        if not targets:
            emails.append({**(_template(selector) if selector is not None else {}), **value})
        for item in targets:
            item.update(value)
    document["emails"] = emails


def apply_to_user(document: dict, ops: list[tuple[str, str | None, object]]) -> dict:
    """The user document after the operations (the input is not changed)."""
    document = copy.deepcopy(document)
    for op, path, value in ops:
        if path is not None:
            _apply_user_path(document, op, path, value)
            continue
        if not isinstance(value, dict):
            raise bad_request(f"An {op} without a path carries an object of attributes.", "invalidValue")
        for key, item in value.items():
            if not isinstance(key, str) or key.lower() in ("id", "meta", "schemas"):
                continue  # Okta repeats the id in a pathless replace
            if key.lower().startswith("urn:") and not key.lower().startswith(USER_SCHEMA.lower() + ":"):
                continue  # an extension object or attribute ({"urn:…:enterprise:2.0:User": {…}}): not stored
            _apply_user_path(document, op, key, item)
    return document


# --- groups --------------------------------------------------------------------------------------------


def apply_to_group(*, display_name: str, external_id: str, members: set[str],
                   ops: list[tuple[str, str | None, object]]) -> tuple[str, str, set[str]]:
    """(displayName, externalId, member ids) after the operations."""
    members = set(members)
    for op, path, value in ops:
        if path is None:
            if not isinstance(value, dict):
                raise bad_request(f"An {op} without a path carries an object of attributes.", "invalidValue")
            pending = [(key, item) for key, item in value.items()
                       if isinstance(key, str) and key.lower() not in ("id", "meta", "schemas")]
        else:
            pending = [(path, value)]
        for key, item in pending:
            parsed = _parse(key)
            if parsed.schema and parsed.schema.lower() != GROUP_SCHEMA.lower():
                continue
            attr = parsed.parts[0].lower()
            sub = parsed.parts[1].lower() if len(parsed.parts) > 1 else None
            if attr in READ_ONLY:
                raise bad_request(f"{key} is read-only.", "mutability")
            if attr == "displayname":
                if op == "remove":
                    raise bad_request("A group keeps its displayName (it is required).", "mutability")
                if not isinstance(item, str):
                    raise bad_request("displayName must be a string.")
                display_name = item
            elif attr == "externalid":
                if op == "remove":
                    external_id = ""
                elif not isinstance(item, str):
                    raise bad_request("externalId must be a string.")
                else:
                    external_id = item
            elif attr == "members":
                if sub is not None and sub != "value":
                    raise bad_request(f"{key}: members are changed as a whole or by value.", "invalidPath")
                if parsed.value_filter is not None:
                    if op != "remove":
                        raise bad_request(f"{key}: add or replace members with path \"members\".", "invalidPath")
                    members = {member for member in members if not _matches({"value": member}, parsed.value_filter)}
                elif op == "remove":
                    members = members - set(read_member_ids(item)) if item else set()
                elif op == "replace":
                    members = set(read_member_ids(item))
                else:
                    members |= set(read_member_ids(item))
            # other attributes: not stored, ignored
    return display_name, external_id, members
