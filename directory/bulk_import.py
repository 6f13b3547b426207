"""Bulk import and export of the directory an administrator manages by hand: scopes, users, groups
(with their static members) and assignments, as JSON or CSV.

One pass does both the dry run and the apply: every row goes through the ordinary services (so the
usual permission, MFA and policy rules apply and every change is audited), each row in a savepoint so
that one refused row does not hide the next one's error, the whole file in one transaction. A dry run,
or an apply that met any error, rolls the transaction back: nothing is written, and the report says
what each row would do (created / changed / unchanged) or why it is refused (row, column, message).
A row that matches what is already there is "unchanged", so a second apply of the same file changes
nothing, and an export re-imports as "no change".

The file formats are described in the README ("Bulk import and export").
"""

import csv
import hashlib
import io
import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from assignments import selectors, services
from assignments.models import Assignment, Principal, RoleDefinition, Scope, User
from audit.services import audit_event_record
from core.actors import Actor, as_actor
from core.errors import DomainError, conflict, forbidden, invalid, not_found

from .models import ImportUpload

MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000

SECTIONS = ("scopes", "users", "groups", "assignments")
RECORD_OF_SECTION = {"scopes": "scope", "users": "user", "groups": "group", "assignments": "assignment"}
SECTION_OF_RECORD = {record: section for section, record in RECORD_OF_SECTION.items()}
# The columns each record uses (the CSV file has their union, `record` first; JSON objects their own).
COLUMNS = {
    "scope": ["path", "kind", "parent", "display_name"],
    "user": ["username", "display_name", "email", "time_zone", "enabled"],
    "group": ["display_name", "object_id", "description", "email", "role_assignable", "members"],
    "assignment": ["principal", "role", "scope", "kind", "end_at", "justification"],
}
CSV_COLUMNS = ["record"] + list(dict.fromkeys(c for columns in COLUMNS.values() for c in columns))
MEMBER_SEPARATOR = ";"
SCOPE_KINDS = [Scope.Kind.MANAGEMENT_GROUP, Scope.Kind.SUBSCRIPTION, Scope.Kind.RESOURCE_GROUP, Scope.Kind.RESOURCE]
MG_PREFIX = "/providers/Microsoft.Management/managementGroups/"


@dataclass
class Row:
    section: str
    number: int  # CSV: the line in the file; JSON: the position in its list, from 1
    values: dict

    @property
    def where(self) -> str:
        return f"line {self.number}" if self.section == "csv" else f"{self.values.get('_section')} #{self.number}"


@dataclass
class RowError:
    row: int
    where: str
    record: str
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "where": self.where, "record": self.record, "column": self.column,
                "message": self.message}


@dataclass
class Outcome:
    record: str
    row: int
    where: str
    key: str
    result: str  # created, changed, unchanged

    def as_dict(self) -> dict:
        return {"row": self.row, "where": self.where, "record": self.record, "key": self.key, "result": self.result}


@dataclass
class ImportReport:
    applied: bool = False
    dry_run: bool = True
    outcomes: list[Outcome] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def count(self, result: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.result == result)

    @property
    def created(self) -> int:
        return self.count("created")

    @property
    def changed(self) -> int:
        return self.count("changed")

    @property
    def unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def summary(self) -> str:
        counts = f"{self.created} created, {self.changed} changed, {self.unchanged} unchanged"
        if self.errors:
            return f"{len(self.errors)} error{'s' if len(self.errors) != 1 else ''}: nothing applied ({counts} " \
                   f"without them)."
        if self.applied:
            return f"Applied: {counts}." if self.created or self.changed else f"No change: {counts}."
        return f"Dry run: {counts}. Nothing written yet."

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "applied": self.applied, "summary": self.summary,
                "created": self.created, "changed": self.changed, "unchanged": self.unchanged,
                "errors": [e.as_dict() for e in self.errors], "rows": [o.as_dict() for o in self.outcomes]}


# --- Reading a file ---------------------------------------------------------------------------------


def _text_of(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise invalid(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB: split it.", field="file")
    try:
        return data.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError:
        raise invalid("The file is not UTF-8 text.", field="file")


def detect_format(*, data: bytes, filename: str = "") -> str:
    name = filename.lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith(".csv"):
        return "csv"
    return "json" if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"[") else "csv"


def parse_rows(*, data: bytes, fmt: str) -> list[Row]:
    """The file's records in file order. Raises `DomainError` (field "file") when the file as a whole
    cannot be read; a bad row is reported by the import, not here."""
    text = _text_of(data)
    if "\x00" in text:
        raise invalid("The file contains NUL characters: it is not a text file.", field="file")
    rows = _parse_json(text) if fmt == "json" else _parse_csv(text)
    if len(rows) > MAX_ROWS:
        raise invalid(f"The file has {len(rows)} records; at most {MAX_ROWS} per file.", field="file")
    return rows


def _parse_json(text: str) -> list[Row]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise invalid(f"The file is not valid JSON: {str(error)[:200]}.", field="file")
    if not isinstance(document, dict):
        raise invalid('A JSON import is an object: {"scopes": [...], "users": [...], "groups": [...], '
                      '"assignments": [...]}.', field="file")
    unknown = set(document) - set(SECTIONS) - {"format", "exported_at"}
    if unknown:
        raise invalid(f"Unknown section(s) {', '.join(sorted(map(str, unknown)))}: expected "
                      f"{', '.join(SECTIONS)}.", field="file")
    rows = []
    for section in SECTIONS:
        items = document.get(section) or []
        if not isinstance(items, list):
            raise invalid(f'"{section}" must be a list of objects.', field="file")
        for index, item in enumerate(items, start=1):
            values = dict(item) if isinstance(item, dict) else {"_not_an_object": True}
            values["_section"] = section
            rows.append(Row(section=section, number=index, values=values))
    return rows


def _parse_csv(text: str) -> list[Row]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    if "record" not in header:
        raise invalid(f"A CSV import needs a header line with a 'record' column (scope, user, group or assignment) "
                      f"and the columns {', '.join(CSV_COLUMNS[1:])}.", field="file")
    unknown = [name for name in header if name not in CSV_COLUMNS]
    if unknown:
        raise invalid(f"Unknown column(s) {', '.join(unknown)}: the columns are {', '.join(CSV_COLUMNS)}.",
                      field="file")
    rows = []
    try:
        for values in reader:
            if not any((v or "").strip() for k, v in values.items() if k is not None):
                continue  # a blank line
            if None in values:
                values = {**values, "_extra": True}
            values = {k: _csv_unescape(v) for k, v in values.items()}
            rows.append(Row(section="csv", number=reader.line_num, values=values))
    except csv.Error as error:
        raise invalid(f"The CSV file cannot be read at line {reader.line_num}: {error}.", field="file")
    return rows


# --- Values -----------------------------------------------------------------------------------------


def _str(values: dict, name: str, *, limit: int = 512) -> str:
    value = values.get(name)
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        value = str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise invalid("Expected text.", field=name)
    value = value.strip()
    if len(value) > limit:
        raise invalid(f"At most {limit} characters.", field=name)
    return value


def _bool(values: dict, name: str) -> bool | None:
    value = values.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise invalid(f"{value!r} is not true or false.", field=name)


def _members(values: dict) -> list[str]:
    value = values.get("members")
    if value is None or value == "":
        return []
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise invalid("Members are a list of principal references (usernames, group:Name, sp:app id).",
                          field="members")
        return [v.strip() for v in value if v.strip()]
    if not isinstance(value, str):
        raise invalid("Members are principal references separated by ';'.", field="members")
    return [v.strip() for v in value.split(MEMBER_SEPARATOR) if v.strip()]


def _when(values: dict, name: str) -> datetime | None:
    text = _str(values, name, limit=64)
    if not text:
        return None
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        raise invalid(f"{text!r} is not a date and time (ISO 8601, e.g. 2027-01-31T18:00:00Z).", field=name)
    if timezone.is_naive(parsed):
        raise invalid(f"{text!r} has no time zone: add Z or an offset such as +02:00.", field=name)
    return parsed


def resolve_principal(ref: str) -> Principal:
    """`alice` (a username), `group:Security Team` or `group:<object id>`, `sp:<application id or name>`,
    or a bare object id."""
    ref = (ref or "").strip()
    if not ref:
        raise invalid("Name the principal.", field="principal")
    prefix, _, rest = ref.partition(":")
    if prefix in ("group", "sp") and rest.strip():
        rest = rest.strip()
        kind = Principal.Kind.GROUP if prefix == "group" else Principal.Kind.SERVICE_PRINCIPAL
        try:
            as_uuid = uuid.UUID(rest)
        except ValueError:
            as_uuid = None
        qs = Principal.objects.filter(kind=kind)
        if as_uuid is not None:
            found = qs.filter(object_id=as_uuid).first() or qs.filter(app_id=as_uuid).first()
            if found:
                return found
        matches = list(qs.filter(display_name=rest)[:2])
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise invalid(f"Several {kind.label.lower()}s are named {rest}: use {prefix}:<object id>.",
                          field="principal")
        raise invalid(f"No {kind.label.lower()} {rest}.", field="principal")
    try:
        found = Principal.objects.filter(object_id=uuid.UUID(ref)).first()
    except ValueError:
        found = Principal.objects.filter(user__username__iexact=ref).first()
    if found is None:
        raise invalid(f"No user {ref} (groups are group:<name>, service principals sp:<application id>).",
                      field="principal")
    return found


def principal_reference(principal: Principal, *, unique_group_names: set[str]) -> str:
    if principal.is_user:
        return principal.user.username
    if principal.is_group:
        name = principal.display_name
        return f"group:{name}" if name in unique_group_names and ":" not in name else f"group:{principal.object_id}"
    return f"sp:{principal.app_id}"


# --- Applying rows ----------------------------------------------------------------------------------


class _Importer:
    def __init__(self, *, actor: Actor, mfa_verified_at, source: str):
        self.actor = actor
        self.mfa = mfa_verified_at
        self.source = source
        self._principals: dict[str, Principal] = {}
        self._roles: dict[str, RoleDefinition | None] = {}
        self._scopes: dict[str, Scope] = {}

    def _call(self, fn: Callable, **kwargs):
        return fn(actor=self.actor, mfa_verified_at=self.mfa, **kwargs)

    # Lookups the group and assignment rows repeat (the same role, scope or member on many rows), kept for
    # the run: scopes are all written before (the scope rows come first), and a principal's kind never
    # changes (the services lock and re-read the principal itself). A failed lookup is never kept.
    def _principal(self, ref: str) -> Principal:
        key = (ref or "").strip()
        found = self._principals.get(key)
        if found is None:
            found = self._principals[key] = resolve_principal(key)
        return found

    def _role(self, slug: str) -> RoleDefinition | None:
        if slug not in self._roles:
            self._roles[slug] = RoleDefinition.objects.filter(slug=slug).first() if slug else None
        return self._roles[slug]

    def _scope(self, path: str) -> Scope | None:
        found = self._scopes.get(path)
        if found is None:
            found = selectors.scope_get(path=path)
            if found is not None:
                self._scopes[path] = found
        return found

    # Scopes
    def scope(self, values: dict) -> tuple[str, str]:
        path = _str(values, "path")
        if not path.startswith("/") or path == "/":
            raise invalid("A scope's path is its id, starting with '/' (the root '/' is not imported).",
                          field="path")
        kind = _str(values, "kind")
        if kind not in SCOPE_KINDS:
            raise invalid(f"kind is one of {', '.join(SCOPE_KINDS)}.", field="kind")
        display_name = _str(values, "display_name", limit=200)
        parent_path = _str(values, "parent") or _default_parent(kind=kind, path=path)
        parent = selectors.scope_get(path=parent_path)
        if parent is None:
            raise invalid(f"No scope {parent_path} (a parent comes before its children in the file).",
                          field="parent")
        existing = selectors.scope_get(path=path)
        if existing is None:
            name = _scope_name(kind=kind, path=path, parent=parent)
            self._call(services.scope_add, kind=kind, name=name, display_name=display_name, parent=parent)
            return path, "created"
        if existing.kind != kind:
            raise invalid(f"{path} exists as a {existing.get_kind_display().lower()}: a scope's kind cannot change.",
                          field="kind")
        changed = False
        if display_name and display_name != existing.display_name:
            changed |= self._call(services.scope_rename, scope=existing, display_name=display_name)[1]
        if existing.parent_id != parent.pk:
            changed |= self._call(services.scope_relocate, scope=existing, new_parent=parent)[1]
        return path, "changed" if changed else "unchanged"

    # Users
    def user(self, values: dict) -> tuple[str, str]:
        username = _str(values, "username", limit=150)
        if not username:
            raise invalid("A user needs a username.", field="username")
        edits = {name: _str(values, name, limit=254) for name in ("display_name", "email", "time_zone")}
        edits = {name: value for name, value in edits.items() if value}
        enabled = _bool(values, "enabled")
        existing = User.objects.filter(username__iexact=username).first()
        result = "unchanged"
        if existing is None:
            existing = self._call(services.user_create, username=username, email=edits.get("email", ""),
                                  display_name=edits.get("display_name", ""))
            result = "created"
        if edits:
            _user, changed = self._call(services.user_update, user=existing, **edits)
            if changed and result == "unchanged":
                result = "changed"
        if enabled is not None and existing.is_active != enabled:
            self._call(services.user_set_enabled, user=existing, enabled=enabled,
                       justification=f"Bulk import ({self.source})")
            result = "changed" if result == "unchanged" else result
        return existing.username, result

    # Groups
    def group(self, values: dict) -> tuple[str, str]:
        name = _str(values, "display_name", limit=200)
        object_id = _str(values, "object_id", limit=64)
        role_assignable = _bool(values, "role_assignable")
        description = _str(values, "description", limit=4000)
        email = _str(values, "email", limit=254)
        members = _members(values)
        existing = None
        if object_id:
            try:
                existing = Principal.objects.filter(kind=Principal.Kind.GROUP, object_id=uuid.UUID(object_id)).first()
            except ValueError:
                raise invalid(f"{object_id!r} is not an object id.", field="object_id")
        if existing is None:
            if not name:
                raise invalid("A group needs a display name.", field="display_name")
            matches = list(Principal.objects.filter(kind=Principal.Kind.GROUP, display_name=name)[:2])
            if len(matches) > 1:
                raise invalid(f"Several groups are named {name}: give the object_id of the one meant.",
                              field="display_name")
            existing = matches[0] if matches else None
        result = "unchanged"
        if existing is None:
            existing = self._call(services.group_create, display_name=name, role_assignable=bool(role_assignable),
                                  description=description, email=email)
            result = "created"
        else:
            if role_assignable is not None and role_assignable != existing.role_assignable:
                raise invalid(f"{existing} is {'' if existing.role_assignable else 'not '}role-assignable, which is "
                              f"fixed at creation.", field="role_assignable")
            for column, value in (("display_name", name), ("description", description), ("email", email)):
                if value and value != getattr(existing, column):
                    raise invalid(f"The group's {column.replace('_', ' ')} differs ({getattr(existing, column)!r}): "
                                  f"an import does not rename or re-describe groups.", field=column)
        role = self._role(RoleDefinition.GROUP_MEMBER)
        scope = existing.group_scope
        for ref in members:
            try:
                member = self._principal(ref)
            except DomainError as error:
                raise invalid(f"Member {ref}: {error.message}", field="members")
            held = Assignment.objects.filter(principal=member, role=role, scope=scope, kind=Assignment.Kind.ACTIVE,
                                             status=Assignment.Status.LIVE, end_at__isnull=True).exists()
            if held:
                continue
            try:
                self._call(services.assignment_create, principal=member, role=role, scope=scope,
                           kind=Assignment.Kind.ACTIVE, justification=f"Bulk import ({self.source})")
            except DomainError as error:
                raise DomainError(f"Member {ref}: {error.message}", code=error.code, field="members")
            result = "changed" if result == "unchanged" else result
        return str(existing.display_name), result

    # Assignments
    def assignment(self, values: dict) -> tuple[str, str]:
        principal = self._principal(_str(values, "principal"))
        role_ref = _str(values, "role", limit=100)
        role = self._role(role_ref)
        if role is None:
            raise invalid(f"No role {role_ref!r} (use the role's id, e.g. global-administrator).", field="role")
        scope_path = _str(values, "scope") or "/"
        scope = self._scope(scope_path)
        if scope is None:
            raise invalid(f"No scope {scope_path}.", field="scope")
        kind = _str(values, "kind") or Assignment.Kind.ELIGIBLE
        if kind not in Assignment.Kind.values:
            raise invalid("kind is eligible or active.", field="kind")
        end_at = _when(values, "end_at")
        justification = _str(values, "justification", limit=2000) or f"Bulk import ({self.source})"
        key = f"{principal} · {role.slug} @ {scope.path} ({kind})"
        existing = (Assignment.objects.select_related("principal", "role", "scope")
                    .filter(principal=principal, role=role, scope=scope, kind=kind, status=Assignment.Status.LIVE)
                    .first())
        if existing is None:
            self._call(services.assignment_create, principal=principal, role=role, scope=scope, kind=kind,
                       end_at=end_at, justification=justification)
            return key, "created"
        if existing.end_at == end_at:
            return key, "unchanged"
        self._call(services.assignment_update, assignment=existing, start_at=None, end_at=end_at,
                   justification=justification)
        return key, "changed"


def _default_parent(*, kind: str, path: str) -> str:
    if kind == Scope.Kind.RESOURCE_GROUP and "/resourceGroups/" in path:
        return path.rsplit("/resourceGroups/", 1)[0]
    if kind == Scope.Kind.RESOURCE and "/providers/" in path:
        return path.split("/providers/", 1)[0]
    return "/"


def _scope_name(*, kind: str, path: str, parent: Scope) -> str:
    """The last part of a new scope's id, the one `services.scope_path_for` builds the id from."""
    prefixes = {Scope.Kind.MANAGEMENT_GROUP: MG_PREFIX, Scope.Kind.SUBSCRIPTION: "/subscriptions/",
                Scope.Kind.RESOURCE_GROUP: f"{parent.path}/resourceGroups/",
                Scope.Kind.RESOURCE: f"{parent.path}/providers/"}
    prefix = prefixes[kind]
    if not path.startswith(prefix) or len(path) == len(prefix):
        raise invalid(f"A {Scope.Kind(kind).label.lower()} under {parent.path} has an id {prefix}<name>.",
                      field="path")
    return path[len(prefix):]


ORDER = {"scope": 0, "user": 1, "group": 2, "assignment": 3}
# A service's field name → the file's column it comes from.
FIELD_TO_COLUMN = {"name": "path", "slug": "role", "start_at": "end_at", "mfa": None, "admin_mfa": None}


def import_run(*, data: bytes, fmt: str = "", filename: str = "", actor: Actor | User, apply: bool,
               mfa_verified_at=None) -> ImportReport:
    """Read the file and run every row through the services in one transaction: kept when `apply` and no
    row failed, rolled back otherwise (the dry run). Records are taken scopes first, then users, groups
    and assignments (each in file order), so a file may list them in any order."""
    actor = as_actor(actor).with_mfa_verified_at(mfa_verified_at)
    if actor.is_service_principal:
        raise forbidden("A bulk import needs a person: its privileged changes ask for a fresh MFA verification.")
    fmt = fmt or detect_format(data=data, filename=filename)
    if fmt not in ("csv", "json"):
        raise invalid("The format is csv or json.", field="format")
    rows = parse_rows(data=data, fmt=fmt)
    report = ImportReport(dry_run=not apply)
    source = (filename or f"upload.{fmt}")[:100]
    importer = _Importer(actor=actor, mfa_verified_at=mfa_verified_at, source=source)
    typed = []
    for row in rows:
        record = row.values.get("record") if fmt == "csv" else RECORD_OF_SECTION[row.section]
        record = (record or "").strip().lower() if isinstance(record, str) else record
        if record not in ORDER:
            report.errors.append(RowError(row.number, row.where, str(record or ""), "record",
                                          "record is scope, user, group or assignment."))
            continue
        if row.values.get("_not_an_object"):
            report.errors.append(RowError(row.number, row.where, record, None, "Each entry is a JSON object."))
            continue
        if row.values.get("_extra"):
            report.errors.append(RowError(row.number, row.where, record, None, "More cells than columns."))
            continue
        if fmt == "json":
            unknown = set(row.values) - set(COLUMNS[record]) - {"_section"}
            if unknown:
                report.errors.append(RowError(row.number, row.where, record, sorted(unknown)[0],
                                              f"Unknown field(s) for a {record}: {', '.join(sorted(unknown))}."))
                continue
        typed.append((ORDER[record], record, row))
    typed.sort(key=lambda item: item[0])  # stable: file order within each record type
    with transaction.atomic():
        for _order, record, row in typed:
            savepoint = transaction.savepoint()
            try:
                key, result = getattr(importer, record)(row.values)
            except DomainError as error:
                transaction.savepoint_rollback(savepoint)
                for field, message in error.field_errors():  # every mistake of the row at once
                    column = FIELD_TO_COLUMN.get(field, field)
                    if column is not None and column not in COLUMNS[record]:
                        column = None
                    report.errors.append(RowError(row.number, row.where, record, column, message))
            except (IntegrityError, DatabaseError) as error:
                transaction.savepoint_rollback(savepoint)
                report.errors.append(RowError(row.number, row.where, record, None,
                                              f"The database refused this row: {str(error).splitlines()[0][:200]}"))
            else:
                transaction.savepoint_commit(savepoint)
                report.outcomes.append(Outcome(record, row.number, row.where, key, result))
        if apply and not report.errors:
            report.applied = True
            audit_event_record(
                action="directory.import", actor=actor, target_type="file", target_label=source,
                message=report.summary,
                after={"format": fmt, "sha256": hashlib.sha256(data).hexdigest(), "rows": len(rows),
                       "created": report.created, "changed": report.changed, "unchanged": report.unchanged})
        else:
            transaction.set_rollback(True)
    report.errors.sort(key=lambda e: e.row)
    return report


# --- Export -----------------------------------------------------------------------------------------


def export_document(*, actor: Actor | User) -> dict:
    """What an administrator manages by hand, in the import's shape: scopes (parents first), users,
    groups with their permanent static members, and the other live assignments the actor may see
    (activations are not exported: they are their holders' to make). Directory viewers only; audited."""
    actor = as_actor(actor)
    if not actor.is_system and not selectors.user_holds_any(user=actor, role_slugs=selectors.DIRECTORY_VIEWER_ROLES):
        raise forbidden("Exporting the directory needs a directory role that reads it (Global Reader, Security "
                        "Reader, Security Administrator, Privileged Role Administrator or Global Administrator).")
    scopes = (Scope.objects.filter(kind__in=SCOPE_KINDS).select_related("parent")
              .filter(ancestor_links__ancestor__path="/").order_by("ancestor_links__depth", "path"))
    group_names = list(Principal.objects.filter(kind=Principal.Kind.GROUP).values_list("display_name", flat=True))
    unique = {name for name in group_names if group_names.count(name) == 1}
    member_role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_MEMBER)
    live = Assignment.objects.filter(status=Assignment.Status.LIVE, activated_from__isnull=True)
    static_members = live.filter(role=member_role, kind=Assignment.Kind.ACTIVE, end_at__isnull=True)
    members_of: dict[int, list[str]] = {}
    for a in static_members.select_related("principal__user", "scope").order_by("scope_id", "principal__display_name",
                                                                                 "pk"):
        members_of.setdefault(a.scope.group_id, []).append(principal_reference(a.principal, unique_group_names=unique))
    visible = selectors.assignments_visible_to(user=actor) if not actor.is_system else Assignment.objects.all()
    others = (live.filter(pk__in=visible.values("pk")).exclude(pk__in=static_members.values("pk"))
              .select_related("principal__user", "role", "scope").order_by("role__slug", "scope__path", "pk"))
    document = {
        "format": "pim-directory/1",
        "exported_at": timezone.now().isoformat(),
        "scopes": [{"path": s.path, "kind": s.kind, "parent": s.parent.path, "display_name": s.display_name}
                   for s in scopes],
        "users": [{"username": u.username, "display_name": u.display_name, "email": u.email,
                   "time_zone": u.time_zone, "enabled": u.is_active}
                  for u in User.objects.order_by("username")],
        "groups": [{"display_name": g.display_name, "object_id": str(g.object_id), "description": g.description,
                    "email": g.email, "role_assignable": g.role_assignable,
                    "members": members_of.get(g.pk, [])}
                   for g in Principal.objects.filter(kind=Principal.Kind.GROUP).order_by("display_name", "pk")],
        "assignments": [{"principal": principal_reference(a.principal, unique_group_names=unique),
                         "role": a.role.slug, "scope": a.scope.path, "kind": a.kind,
                         "end_at": a.end_at.isoformat() if a.end_at else "",
                         "justification": a.justification}
                        for a in others],
    }
    audit_event_record(action="directory.export", actor=actor, target_type="directory", target_label="/",
                       after={section: len(document[section]) for section in SECTIONS})
    return document


def export_bytes(*, actor: Actor | User, fmt: str) -> bytes:
    document = export_document(actor=actor)
    if fmt == "json":
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    if fmt != "csv":
        raise invalid("The format is csv or json.", field="format")
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for section in SECTIONS:
        for item in document[section]:
            writer.writerow(_csv_row(RECORD_OF_SECTION[section], item))
    return out.getvalue().encode("utf-8")


def _csv_row(record: str, item: dict) -> dict:
    row = {"record": record}
    for name, value in item.items():
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, list):
            value = MEMBER_SEPARATOR.join(value)
        row[name] = _csv_safe(value)
    return row


CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _csv_safe(value) -> str:
    """A cell a spreadsheet would run as a formula (= + - @ tab CR first) gets a leading apostrophe (OWASP
    CSV injection); the import takes it off again (`_csv_unescape`), so the export re-imports unchanged."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_DANGEROUS) else text


def _csv_unescape(text):
    if isinstance(text, str) and len(text) > 1 and text[0] == "'" and text[1:].startswith(CSV_DANGEROUS):
        return text[1:]
    return text


def rows_preview(report: ImportReport, limit: int = 500) -> Iterable[Outcome]:
    return report.outcomes[:limit]


# --- Staged uploads (the pages: upload → dry run → apply) -------------------------------------------

IMPORT_UPLOAD_TTL_SECONDS = 60 * 60


def upload_stage(*, actor: User, data: bytes, filename: str, fmt: str = "", mfa_verified_at=None):
    """Keep an uploaded file and its dry run's report; the apply reads the file from here (the same bytes
    that were previewed, whatever the browser sends next)."""
    fmt = fmt or detect_format(data=data, filename=filename)
    report = import_run(data=data, fmt=fmt, filename=filename, actor=actor, apply=False,
                        mfa_verified_at=mfa_verified_at)
    upload = ImportUpload.objects.create(uploaded_by=actor, filename=(filename or f"upload.{fmt}")[:200], format=fmt,
                                         data=data, sha256=hashlib.sha256(data).hexdigest(), report=report.as_dict())
    return upload, report


def upload_apply(*, upload_id, actor: User, mfa_verified_at=None):
    """Apply a staged upload once: its uploader, within the hour, not applied before. The mark and the
    changes commit together; a refused row leaves both undone (the upload can be fixed and uploaded again)."""
    with transaction.atomic():
        upload = ImportUpload.objects.select_for_update().filter(pk=upload_id, uploaded_by=actor).first()
        if upload is None:
            raise not_found("No such upload of yours.")
        if upload.applied_at is not None:
            raise conflict(f"{upload.filename} was already applied at {upload.applied_at:%Y-%m-%d %H:%M} UTC.")
        if timezone.now() - upload.created_at > timedelta(seconds=IMPORT_UPLOAD_TTL_SECONDS):
            raise conflict("This upload is more than an hour old: upload the file again for a fresh dry run.")
        report = import_run(data=bytes(upload.data), fmt=upload.format, filename=upload.filename, actor=actor,
                            apply=True, mfa_verified_at=mfa_verified_at)
        fields = {"report": report.as_dict()}
        if report.applied:
            fields["applied_at"] = timezone.now()
        ImportUpload.objects.filter(pk=upload.pk, applied_at__isnull=True).update(**fields)
    return upload, report
