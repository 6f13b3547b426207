"""The one CSV exporter of the audit log, behind both *Download CSV* on the pages (`auditlog.views`) and
`GET /api/v1/audit/events.csv` (`api.views.AuditEventCsv`).

One FilterSet (`auditlog.filters.AuditEventFilter`) applied to what the caller may see, one streaming
function (`auditlog.selectors.audit_csv_stream`: keyset chunks, bounded memory, every cell formatted and
neutralised in SQL), and always one `audit.export` event recording the filters in effect. Callers
keep only their permission gate and the way they report invalid filters.
"""

from collections.abc import Iterator
from dataclasses import dataclass

from django.http import StreamingHttpResponse
from django.utils import timezone

from audit import services

from . import selectors

CONTENT_TYPE = "text/csv; charset=utf-8"


@dataclass(frozen=True)
class AuditCsvExport:
    filename: str
    chunks: Iterator[bytes]


def audit_csv_export(*, user, params, mine: bool = False) -> AuditCsvExport:
    """Validate `params` against the audit filter, record the `audit.export` event, and return the
    CSV stream of the matching events `user` may see (their own with `mine`).

    Raises `selectors.AuditFilterInvalid` before anything is recorded when the filters do not
    validate. The event is written before the first byte is streamed: a download cut short is still
    on record."""
    filterset = selectors.audit_filterset(user=user, params=params, mine=mine)
    if not filterset.is_valid():
        raise selectors.AuditFilterInvalid(filterset.errors)
    services.audit_export_record(actor=user, filters=filterset.summary(), mine=mine)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return AuditCsvExport(
        filename=f"audit-{'mine-' if mine else ''}{stamp}.csv",
        chunks=selectors.audit_csv_stream(queryset=filterset.qs),
    )


def audit_csv_response(export: AuditCsvExport) -> StreamingHttpResponse:
    response = StreamingHttpResponse(export.chunks, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["Cache-Control"] = "no-store"
    return response
