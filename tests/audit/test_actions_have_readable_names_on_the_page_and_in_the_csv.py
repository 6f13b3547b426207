"""Actions read as words ("Role activated") beside their code, on the list, on the event page and in
the CSV's `action_name` column (after the `action` code column), from one mapping: the database's
names for the CSV are the mapping's, and a code the mapping does not know reads the same way in both."""

import csv
import html
import io

import pytest
from django.urls import reverse

from audit.models import AuditEvent
from audit.services import audit_event_record
from auditlog.actions import ACTION_NAMES, action_name
from auditlog.selectors import CSV_HEADER, audit_csv_stream

UNKNOWN = "test.something_new"


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    return user


def test_the_mapping_reads_as_words():
    assert action_name("assignment.activate") == "Role activated"
    assert action_name("request.deny") == "Request denied"
    assert action_name(UNKNOWN) == "Test something new"


def test_the_list_and_the_event_page_show_the_name_beside_the_code(auditor, client):
    event = audit_event_record(action="assignment.activate", actor=auditor)
    client.force_login(auditor)
    body = html.unescape(client.get(reverse("audit:list"), {"action": "assignment.activate"}).content.decode())
    assert "Role activated</a> <code" in body and "assignment.activate</code>" in body
    body = html.unescape(client.get(reverse("audit:detail", args=[event.seq])).content.decode())
    assert "Role activated <code>assignment.activate</code>" in body


def test_the_csv_has_the_code_and_the_same_name_for_every_known_and_an_unknown_action(auditor):
    for code in [*ACTION_NAMES, UNKNOWN]:
        audit_event_record(action=code, actor=auditor, message="probe")
    assert CSV_HEADER[2:4] == ["action", "action_name"]
    text = b"".join(audit_csv_stream(queryset=AuditEvent.objects.filter(message="probe"))).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(ACTION_NAMES) + 1
    assert {row["action"]: row["action_name"] for row in rows} == {
        code: action_name(code) for code in [*ACTION_NAMES, UNKNOWN]}
