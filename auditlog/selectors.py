"""Reads of the audit log: who sees what, the shared filters, keyset pages and the CSV stream.

Visibility (issue 5): directory auditors — Global Reader, Security Reader, Security Administrator,
Global Administrator, Privileged Role Administrator — see every event. A resource Owner or User
Access Administrator sees the events whose scope is at or below a scope where they hold that role.
Everybody sees "My audit": the events where they are the actor or the principal.

Paging and export are keyset-based on `seq` (unique index): no OFFSET, no COUNT, no
materialisation, so page 10,000 costs what page 1 costs and an export of any size streams.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import CharField, F, Func, Q, QuerySet, TextField
from django.db.models.functions import Cast

from assignments.models import Scope
from assignments.selectors import DIRECTORY_VIEWER_ROLES, RESOURCE_ADMIN_ROLES, user_held_scope_ids, user_holds_any
from audit.models import AuditEvent

from .actions import action_name_expression
from .filters import AuditEventFilter

PAGE_SIZE = 50
EXPORT_CHUNK = 5000


class AuditFilterInvalid(ValueError):
    """The filter parameters do not validate; `errors` is the form's error dict."""

    def __init__(self, errors):
        super().__init__("invalid audit filters")
        self.errors = errors


# --- Visibility -----------------------------------------------------------------------------------

def _signed_in(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and hasattr(user, "principal")


def user_is_auditor(*, user) -> bool:
    return _signed_in(user) and user_holds_any(user=user, role_slugs=DIRECTORY_VIEWER_ROLES)


def _resource_admin_scope_ids(user) -> QuerySet:
    """Scopes where `user`, or a group they are an active member of, holds Owner or User Access
    Administrator now (a subquery)."""
    return user_held_scope_ids(user=user, role_slugs=RESOURCE_ADMIN_ROLES)


def user_is_resource_auditor(*, user) -> bool:
    """Owner or User Access Administrator somewhere: sees that resource's history."""
    return _signed_in(user) and _resource_admin_scope_ids(user).exists()


def user_can_see_audit_log(*, user) -> bool:
    return user_is_auditor(user=user) or user_is_resource_auditor(user=user)


def audit_events_visible_to(*, user) -> QuerySet[AuditEvent]:
    """The "Audit log" of `user`: everything for directory auditors; for resource Owners / User
    Access Administrators the events at or below their scopes (one subquery over the closure)."""
    qs = AuditEvent.objects.all()
    if not _signed_in(user):
        return qs.none()
    if user_is_auditor(user=user):
        return qs
    paths = Scope.objects.filter(ancestor_links__ancestor_id__in=_resource_admin_scope_ids(user)).values("path")
    return qs.filter(scope_path__in=paths)


def audit_events_of(*, user) -> QuerySet[AuditEvent]:
    """"My audit": events where `user` is the actor or the principal."""
    if not _signed_in(user):
        return AuditEvent.objects.none()
    return AuditEvent.objects.filter(Q(actor_id=user.pk) | Q(principal_id=user.principal.pk))


def audit_event_get(*, user, seq: int) -> AuditEvent | None:
    """One event, if `user` may see it through either list."""
    return (audit_events_visible_to(user=user) | audit_events_of(user=user)).filter(seq=seq).first()


# --- Filters --------------------------------------------------------------------------------------

def audit_filterset(*, user, params, mine: bool = False) -> AuditEventFilter:
    base = audit_events_of(user=user) if mine else audit_events_visible_to(user=user)
    return AuditEventFilter(data=params, queryset=base)


def audit_events_filtered(*, user, params, mine: bool = False) -> QuerySet[AuditEvent]:
    """The events `user` may see (their own with `mine`), filtered by `params` (a QueryDict or dict
    of the `AuditEventFilter` fields). Raises AuditFilterInvalid. The same call serves the page, the
    CSV export and the API."""
    filterset = audit_filterset(user=user, params=params, mine=mine)
    if not filterset.is_valid():
        raise AuditFilterInvalid(filterset.errors)
    return filterset.qs


# --- Keyset pages ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    newer_seq: int | None  # pass as after_seq to go to newer events
    older_seq: int | None  # pass as before_seq to go to older events


def audit_page(*, queryset: QuerySet[AuditEvent], before_seq: int | None = None, after_seq: int | None = None,
               size: int = PAGE_SIZE) -> AuditPage:
    """Newest first. `before_seq`: the page of events older than it; `after_seq`: the page just newer
    than it. One query (size + 1 rows) each way, on the seq index."""
    if after_seq is not None and before_seq is None:
        rows = list(queryset.filter(seq__gt=after_seq).order_by("seq")[: size + 1])
        has_newer = len(rows) > size
        events = list(reversed(rows[:size]))
        if not events:
            return audit_page(queryset=queryset, size=size)
        return AuditPage(events=events, newer_seq=events[0].seq if has_newer else None,
                         older_seq=events[-1].seq if _exists_before(queryset, events[-1].seq) else None)
    qs = queryset
    if before_seq is not None:
        qs = qs.filter(seq__lt=before_seq)
    rows = list(qs.order_by("-seq")[: size + 1])
    events = rows[:size]
    older = events[-1].seq if len(rows) > size else None
    newer = None
    if before_seq is not None and events and queryset.filter(seq__gt=events[0].seq).exists():
        newer = events[0].seq
    return AuditPage(events=events, newer_seq=newer, older_seq=older)


def _exists_before(queryset: QuerySet, seq: int) -> bool:
    return queryset.filter(seq__lt=seq).exists()


# --- CSV export -----------------------------------------------------------------------------------

CSV_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


class _Neutralised(Func):
    """A text cell that a spreadsheet would run as a formula gets a leading apostrophe (OWASP CSV
    injection). Done in SQL so the export loop stays in C."""

    output_field = TextField()
    template = ("CASE WHEN SUBSTR(%(expressions)s, 1, 1) IN ('=', '+', '-', '@', CHAR(9), CHAR(13)) "
                "THEN '''' || %(expressions)s ELSE %(expressions)s END")

    def as_sql(self, compiler, connection, template=None, **extra):
        sql, params = super().as_sql(compiler, connection, template=template, **extra)
        return sql, tuple(params) * 3  # the argument appears three times in the template

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template=self.template.replace("CHAR(", "CHR("), **extra)


class _IsoUtc(Func):
    """ISO-8601 UTC text of a datetime column."""

    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        template = """to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        # Django keeps SQLite datetimes as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]".
        return self.as_sql(compiler, connection, template="REPLACE(%(expressions)s, ' ', 'T') || 'Z'", **extra)


class _UuidText(Func):
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="(%(expressions)s)::text", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        x = "%(expressions)s"
        template = (f"SUBSTR({x}, 1, 8) || '-' || SUBSTR({x}, 9, 4) || '-' || SUBSTR({x}, 13, 4) || '-' || "
                    f"SUBSTR({x}, 17, 4) || '-' || SUBSTR({x}, 21, 12)")
        return self.as_sql(compiler, connection, template=template, **extra)


class _IpText(Func):
    output_field = CharField()

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="host(%(expressions)s)", **extra)

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="%(expressions)s", **extra)


def _text(name: str) -> Func:
    return _Neutralised(F(name))


def _json(name: str) -> Func:
    return _Neutralised(Cast(F(name), TextField()))


# (header, expression) in column order; the first column must be seq (the keyset).
CSV_COLUMNS = [
    ("seq", F("seq")),
    ("occurred_at_utc", _IsoUtc(F("occurred_at"))),
    ("action", _text("action")),
    ("action_name", action_name_expression()),  # readable, as on the pages (auditlog.actions)
    ("outcome", F("outcome")),
    ("actor_id", F("actor_id")),
    ("actor", _text("actor_label")),
    ("principal_id", F("principal_id")),
    ("principal", _text("principal_label")),
    ("role_id", F("role_id")),
    ("role", _text("role_label")),
    ("scope", _text("scope_path")),
    ("target_type", _text("target_type")),
    ("target_id", _text("target_id")),
    ("target", _text("target_label")),
    ("justification", _text("justification")),
    ("ticket", _text("ticket")),
    ("message", _text("message")),
    ("before", _json("before")),
    ("after", _json("after")),
    ("correlation_id", _UuidText(F("correlation_id"))),
    ("client_ip", _IpText(F("client_ip"))),
    ("prev_hash", F("prev_hash")),
    ("hash", F("hash")),
]
CSV_HEADER = [name for name, _ in CSV_COLUMNS]


def neutralise_cell(value):
    """The Python form of the same rule, for cells built outside the database."""
    if isinstance(value, str) and value[:1] in CSV_DANGEROUS:
        return "'" + value
    return value


def audit_csv_chunks(*, queryset: QuerySet[AuditEvent], chunk: int = EXPORT_CHUNK) -> Iterator[list[tuple]]:
    """The rows of `queryset` (any filters, any size) oldest first, as lists of at most `chunk` row
    tuples, one keyset query per chunk (`seq > last ORDER BY seq LIMIT chunk`). Every cell is
    formatted and neutralised in SQL."""
    annotations = {f"csv_{name}": expression for name, expression in CSV_COLUMNS[1:]}
    rows_qs = queryset.order_by().annotate(**annotations).values_list("seq", *annotations)
    last = None
    while True:
        page = rows_qs.filter(seq__gt=last) if last is not None else rows_qs
        rows = list(page.order_by("seq")[:chunk])
        if not rows:
            return
        yield rows
        if len(rows) < chunk:
            return
        last = rows[-1][0]


def audit_csv_rows(*, queryset: QuerySet[AuditEvent]) -> Iterator[list | tuple]:
    """The header, then one row per event: a generator for `csv.writer`, in bounded memory."""
    yield CSV_HEADER
    for rows in audit_csv_chunks(queryset=queryset):
        yield from rows


class _CsvCell(Func):
    """One CSV field, quoted and escaped in SQL (RFC 4180: text always quoted, "" inside; NULL empty)."""

    output_field = TextField()

    def __init__(self, expression, *, text: bool):
        template = ("COALESCE('\"' || REPLACE(%(expressions)s, '\"', '\"\"') || '\"', '')" if text
                    else "COALESCE(CAST(%(expressions)s AS TEXT), '')")
        super().__init__(expression, template=template)


class _CsvLine(Func):
    output_field = TextField()
    arg_joiner = " || ',' || "
    template = "%(expressions)s"


_NUMERIC_COLUMNS = {"seq", "actor_id", "principal_id", "role_id"}


def _csv_line() -> _CsvLine:
    return _CsvLine(*(_CsvCell(expression, text=name not in _NUMERIC_COLUMNS) for name, expression in CSV_COLUMNS))


def audit_csv_stream(*, queryset: QuerySet[AuditEvent], chunk: int = EXPORT_CHUNK) -> Iterator[bytes]:
    """UTF-8 CSV bytes (header first, CRLF line ends), a chunk of rows at a time, for a
    StreamingHttpResponse. The same cells as `audit_csv_rows`, but each line is assembled by the
    database, so the Python side only joins and encodes: the export runs near COPY's speed."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(CSV_HEADER)
    yield buffer.getvalue().encode()
    lines_qs = queryset.order_by().annotate(csv_line=_csv_line()).values_list("seq", "csv_line")
    last = None
    while True:
        page = lines_qs.filter(seq__gt=last) if last is not None else lines_qs
        rows = list(page.order_by("seq")[:chunk])
        if not rows:
            return
        yield ("\r\n".join([line for _, line in rows]) + "\r\n").encode()
        if len(rows) < chunk:
            return
        last = rows[-1][0]
