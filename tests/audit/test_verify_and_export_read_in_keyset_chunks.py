"""Verify and export never load the log at once: one keyset query per chunk (`seq > last … LIMIT n`),
never OFFSET, so memory is bounded by the chunk size whatever the size of the log."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from auditlog.selectors import audit_csv_stream


def _event_reads(queries):
    return [q["sql"] for q in queries.captured_queries
            if 'FROM "audit_auditevent"' in q["sql"] and "LIMIT" in q["sql"].upper()]


def test_verify_reads_the_chain_in_chunks(events):
    total = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        assert audit_chain_verify(chunk=10).verified == total
    reads = [sql for sql in _event_reads(queries) if "seq > " in sql]
    assert len(reads) == total // 10 + 1
    assert all("OFFSET" not in sql.upper() and "LIMIT 10" in sql for sql in reads)


def test_the_export_stream_reads_in_chunks(events):
    total = AuditEvent.objects.count()
    with CaptureQueriesContext(connection) as queries:
        lines = b"".join(audit_csv_stream(queryset=AuditEvent.objects.all(), chunk=10)).count(b"\r\n")
    assert lines == total + 1
    reads = _event_reads(queries)
    assert len(reads) == total // 10 + 1
    assert all("OFFSET" not in sql.upper() for sql in reads)
