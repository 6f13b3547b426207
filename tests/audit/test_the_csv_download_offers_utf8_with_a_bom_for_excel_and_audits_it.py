"""Download CSV stays plain UTF-8; "CSV for Excel" (`bom=1`, on the page and the API alike) starts the
same bytes with a UTF-8 byte order mark so Excel reads accents right. Each download is audited as
usual, the BOM one saying so; a `bom` value that means nothing is a 400 that exports nothing."""

import codecs

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_event_record


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    audit_event_record(action="test.unicode", actor=user, justification="Zürich — 東京 ✓")
    return user


def download(client, **params) -> bytes:
    response = client.get(reverse("audit:export"), {"action": "test.", **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return b"".join(response.streaming_content)


def test_the_default_is_plain_utf8_and_bom_1_adds_only_the_mark(auditor, client):
    client.force_login(auditor)
    plain = download(client)
    excel = download(client, bom="1")
    assert not plain.startswith(codecs.BOM_UTF8)
    assert plain.startswith(b"seq,")
    assert excel.startswith(codecs.BOM_UTF8)
    assert excel[len(codecs.BOM_UTF8):] == plain
    assert excel.decode("utf-8-sig").count("Zürich — 東京 ✓") == 1


def test_both_downloads_are_audited_and_the_bom_one_says_so(auditor, client):
    client.force_login(auditor)
    download(client)
    download(client, bom="1")
    plain, excel = AuditEvent.objects.filter(action="audit.export").order_by("seq")
    assert plain.after == {"filters": {"action": "test."}, "mine": False}
    assert excel.after == {"filters": {"action": "test."}, "mine": False, "bom": True}
    assert "UTF-8 with BOM" in excel.message


def test_the_page_offers_the_excel_download_with_the_current_filters(auditor, client):
    client.force_login(auditor)
    body = client.get(reverse("audit:list"), {"outcome": "success"}).content.decode()
    assert f'href="{reverse("audit:export")}?outcome=success&amp;bom=1"' in body


def test_my_audit_offers_it_too(auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:mine_export"), {"bom": "1"})
    assert b"".join(response.streaming_content).startswith(codecs.BOM_UTF8)


def test_a_meaningless_bom_value_is_a_400_and_exports_nothing(auditor, client):
    client.force_login(auditor)
    response = client.get(reverse("audit:export"), {"bom": "excel"})
    assert response.status_code == 400
    assert "bom=1" in response.content.decode()
    assert not AuditEvent.objects.filter(action="audit.export").exists()
