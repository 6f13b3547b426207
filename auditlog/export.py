"""The one CSV exporter of the audit log, behind both *Download CSV* on the pages (`auditlog.views`) and
`GET /api/v1/audit/events.csv` (`api.views.AuditEventCsv`).

One FilterSet (`auditlog.filters.AuditEventFilter`) applied to what the caller may see, one streaming
function (`auditlog.selectors.audit_csv_stream`: keyset chunks, bounded memory, every cell formatted and
neutralised in SQL), and always one `audit.export` event recording the filters in effect. Callers
keep only their permission gate and the way they report invalid filters.
"""

import codecs
from collections.abc import Iterator
from dataclasses import dataclass

from django.http import StreamingHttpResponse
from django.utils import timezone

from audit import services

from . import selectors

CONTENT_TYPE = "text/csv; charset=utf-8"
BOM_VALUES = {"": False, "0": False, "false": False, "1": True, "true": True}
BOM_ERROR = "Use bom=1 for UTF-8 with a byte order mark (for Excel), or leave it out for plain UTF-8."


@dataclass(frozen=True)
class AuditCsvExport:
    filename: str
    chunks: Iterator[bytes]


def _bom_wanted(params) -> bool | None:
    """The `bom` option: absent, empty, 0 or false is plain UTF-8; 1 or true adds the byte order mark
    Excel needs to read UTF-8. None for anything else: an invalid option, not a guess."""
    return BOM_VALUES.get(str(params.get("bom", "") or "").strip().lower())


def _with_bom(chunks: Iterator[bytes]) -> Iterator[bytes]:
    yield codecs.BOM_UTF8
    yield from chunks


def audit_csv_export(*, user, params, mine: bool = False) -> AuditCsvExport:
    """Validate `params` against the audit filter, record the `audit.export` event, and return the
    CSV stream of the matching events `user` may see (their own with `mine`). `bom=1` in `params`
    starts the file with a UTF-8 byte order mark, for Excel; the default is plain UTF-8.

    Raises `selectors.AuditFilterInvalid` before anything is recorded when the filters do not
    validate. The event is written before the first byte is streamed: a download cut short is still
    on record."""
    filterset = selectors.audit_filterset(user=user, params=params, mine=mine)
    bom = _bom_wanted(params)
    if not filterset.is_valid() or bom is None:
        errors = dict(filterset.errors)
        if bom is None:
            errors["bom"] = [BOM_ERROR]
        raise selectors.AuditFilterInvalid(errors)
    services.audit_export_record(actor=user, filters=filterset.summary(), mine=mine, bom=bom)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    chunks = selectors.audit_csv_stream(queryset=filterset.qs)
    return AuditCsvExport(
        filename=f"audit-{'mine-' if mine else ''}{stamp}.csv",
        chunks=_with_bom(chunks) if bom else chunks,
    )


def audit_csv_response(export: AuditCsvExport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.chunks, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response
