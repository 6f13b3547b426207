"""On a decision (approve, deny) the event's justification is what the approver wrote: the event page
and the list label it "Approver's comment", not "Justification"; other events keep "Justification"."""

import html

import pytest
from django.urls import reverse

from audit.services import audit_event_record


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    return user


def page(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_a_denial_s_reason_is_the_approver_s_comment_on_the_event_page(auditor, client):
    event = audit_event_record(action="request.deny", actor=auditor, justification="No ticket for this")
    client.force_login(auditor)
    body = page(client, reverse("audit:detail", args=[event.seq]))
    assert "<dt>Approver's comment</dt><dd>No ticket for this</dd>" in body
    assert "<dt>Justification</dt>" not in body


def test_an_activation_keeps_its_justification_label(auditor, client):
    event = audit_event_record(action="assignment.activate", actor=auditor, justification="Fix INC-42")
    client.force_login(auditor)
    body = page(client, reverse("audit:detail", args=[event.seq]))
    assert "<dt>Justification</dt><dd>Fix INC-42</dd>" in body


def test_the_list_labels_both(auditor, client):
    audit_event_record(action="request.approve", actor=auditor, justification="Looks right")
    audit_event_record(action="assignment.activate", actor=auditor, justification="Fix INC-42")
    client.force_login(auditor)
    body = page(client, reverse("audit:list") + "?action=request.approve")
    assert "Approver's comment:</span> Looks right" in body
    body = page(client, reverse("audit:list") + "?action=assignment.activate")
    assert "Justification:</span> Fix INC-42" in body
