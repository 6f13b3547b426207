"""`GET /api/v1/audit/events.csv?bom=1` is the page's Excel download: the same bytes after a UTF-8 byte
order mark, audited with `bom`; without it the file is plain UTF-8, and a bad value is a 400."""

import codecs

from audit.models import AuditEvent


def test_bom_1_prefixes_the_plain_bytes_and_is_audited(world):
    client = world["auditor"].client()
    plain = b"".join(client.get("/api/v1/audit/events.csv", {"action": "auth."}).streaming_content)
    excel = b"".join(client.get("/api/v1/audit/events.csv", {"action": "auth.", "bom": "1"}).streaming_content)
    assert not plain.startswith(codecs.BOM_UTF8)
    assert excel == codecs.BOM_UTF8 + plain
    assert [e.after.get("bom", False) for e in AuditEvent.objects.filter(action="audit.export").order_by("seq")] == [
        False, True]


def test_a_bad_bom_value_is_a_400_naming_it(world):
    response = world["auditor"].client().get("/api/v1/audit/events.csv", {"bom": "yes please"})
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "bom"
    assert not AuditEvent.objects.filter(action="audit.export").exists()
