"""Download CSV: the current filters, streamed in keyset chunks, UTF-8 with a header row, ISO-8601
UTC times, formula-like cells neutralised, and the export itself audited."""

import csv
import io
import re

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_event_record
from auditlog.selectors import CSV_HEADER, audit_csv_chunks, audit_csv_rows, audit_csv_stream

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    return user


def download(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def test_the_download_has_a_header_iso_utc_times_and_the_filtered_rows(events, auditor, client):
    client.force_login(auditor)
    rows = download(client, reverse("audit:export"), action="test.")
    assert rows[0] == CSV_HEADER
    by_action = {row[2]: dict(zip(CSV_HEADER, row, strict=True)) for row in rows[1:]}
    assert set(by_action) == {"test.unicode", "test.formula"}
    unicode_row = by_action["test.unicode"]
    assert ISO_UTC.match(unicode_row["occurred_at_utc"]), unicode_row["occurred_at_utc"]
    assert unicode_row["justification"] == "Zürich — 東京 ✓"
    assert unicode_row["client_ip"] == "2001:db8::1"
    event = AuditEvent.objects.get(action="test.unicode")
    assert unicode_row["hash"] == event.hash and unicode_row["seq"] == str(event.seq)
    assert unicode_row["correlation_id"] == str(event.correlation_id)


def test_formula_like_cells_are_neutralised(events, auditor, client):
    audit_event_record(action="test.tab", justification="\tcmd", ticket="\rcmd", message="@SUM(1)")
    client.force_login(auditor)
    rows = {row[2]: dict(zip(CSV_HEADER, row, strict=True)) for row in download(client, reverse("audit:export"))[1:]}
    formula = rows["test.formula"]
    assert formula["justification"] == "'=HYPERLINK(\"x\")"
    assert formula["ticket"] == "'+1 555"
    assert formula["message"] == "'-2"
    assert formula["after"].startswith("{")  # JSON never starts with a formula character
    tab = rows["test.tab"]
    assert (tab["justification"], tab["ticket"], tab["message"]) == ("'\tcmd", "'\rcmd", "'@SUM(1)")
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows.values() for cell in row.values())


def test_the_export_is_itself_audited_with_its_filters(events, auditor, client):
    client.force_login(auditor)
    download(client, reverse("audit:export"), action="test.formula", outcome="success")
    export = AuditEvent.objects.get(action="audit.export")
    assert export.actor_id == auditor.pk
    assert export.after == {"filters": {"action": "test.formula", "outcome": "success"}, "mine": False}
    assert "action=test.formula" in export.message


def test_invalid_filters_give_400_and_no_export(events, auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), {"date_from": "not-a-date"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="audit.export").exists()


def test_my_audit_exports_only_my_events(events, directory, client):
    user = directory.user("someone")
    audit_event_record(action="test.mine", actor=user)
    client.force_login(user)
    rows = [dict(zip(CSV_HEADER, row, strict=True)) for row in download(client, reverse("audit:mine_export"))[1:]]
    assert "test.mine" in {row["action"] for row in rows}
    assert all(row["actor_id"] == str(user.pk) or row["principal_id"] == str(user.principal.pk) for row in rows)
    assert AuditEvent.objects.get(action="audit.export").after["mine"] is True


def test_chunks_follow_the_keyset_without_gaps_or_repeats(events):
    qs = AuditEvent.objects.all()
    seqs = [row[0] for rows in audit_csv_chunks(queryset=qs, chunk=7) for row in rows]
    assert seqs == sorted(qs.values_list("seq", flat=True))


def test_the_fast_stream_and_the_row_generator_give_the_same_cells(events):
    qs = AuditEvent.objects.all()
    streamed = list(csv.reader(io.StringIO(b"".join(audit_csv_stream(queryset=qs, chunk=9)).decode())))
    generated = [["" if cell is None else str(cell) for cell in row] for row in audit_csv_rows(queryset=qs)]
    assert streamed == generated
