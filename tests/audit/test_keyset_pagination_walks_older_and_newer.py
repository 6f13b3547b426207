"""The list pages by seq (newest first) with before_seq / after_seq: no OFFSET, one query per page,
and the links keep the filters."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_event_record
from auditlog.selectors import audit_page


@pytest.fixture
def seven(db):
    return [audit_event_record(action="test.page", message=str(n)).seq for n in range(7)]


def seqs(page):
    return [e.seq for e in page.events]


def test_walking_older_then_newer_returns_the_same_pages(seven):
    qs = AuditEvent.objects.filter(action="test.page")
    first = audit_page(queryset=qs, size=3)
    assert seqs(first) == seven[::-1][:3] and first.newer_seq is None
    second = audit_page(queryset=qs, before_seq=first.older_seq, size=3)
    assert seqs(second) == seven[::-1][3:6]
    last = audit_page(queryset=qs, before_seq=second.older_seq, size=3)
    assert seqs(last) == seven[:1] and last.older_seq is None and last.newer_seq == seven[0]
    back = audit_page(queryset=qs, after_seq=last.newer_seq, size=3)
    assert seqs(back) == seqs(second)
    front = audit_page(queryset=qs, after_seq=back.newer_seq, size=3)
    assert seqs(front) == seqs(first) and front.newer_seq is None


def test_a_page_is_a_keyset_query_without_offset(seven):
    qs = AuditEvent.objects.filter(action="test.page")
    with CaptureQueriesContext(connection) as queries:
        audit_page(queryset=qs, before_seq=seven[5], size=3)
    page_query = queries.captured_queries[0]["sql"]
    assert "OFFSET" not in page_query.upper()
    assert '"seq" <' in page_query and "ORDER BY" in page_query and "LIMIT 4" in page_query
    assert len(queries) <= 2


def test_the_page_links_keep_the_filters(seven, directory, client):
    auditor = directory.user("auditor")
    directory.grant(auditor, "global-reader")
    client.force_login(auditor)
    for _ in range(55):
        audit_event_record(action="test.page")
    body = client.get(reverse("audit:list"), {"action": "test.page"}).content.decode()
    older = re.search(r'href="\?([^"]*before_seq=\d+)"', body).group(1).replace("&amp;", "&")
    assert "action=test.page" in older
    body = client.get(reverse("audit:list") + "?" + older).content.decode()
    assert "Newer" in body and body.count(">test.page</code>") == 55 + 7 - 50
