"""Discovery lists privileged holders by role and scope; the wizard previews the change, then
converts the chosen permanent active assignments, never emergency access accounts, audited."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent


def test_discovery_groups_privileged_holders(directory, role_admin, client):
    directory.grant(directory.user("eve"), "helpdesk-administrator", kind="eligible")
    directory.grant(directory.user("fay"), "exchange-administrator")  # not privileged
    client.force_login(role_admin)
    page = client.get("/alerts/discovery/").content.decode()
    assert "Helpdesk Administrator" in page and "Eve" in page
    assert "Exchange Administrator" not in page
    assert "Emergency access 1" in page and "Permanent active" in page


def test_preview_changes_nothing_and_confirm_converts(directory, role_admin, client):
    eve, fay = directory.user("eve"), directory.user("fay")
    first = directory.grant(eve, "helpdesk-administrator")
    second = directory.grant(fay, "user-administrator")
    breakglass = Assignment.objects.get(principal__user__username="breakglass1", status="live")
    client.force_login(role_admin)
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        select = client.get("/alerts/discovery/convert/").content.decode()
        assert "Emergency access accounts are excluded" in select
        assert f'value="{breakglass.pk}"' not in select
        data = {"assignments": [first.pk, second.pk], "justification": "standing access review"}
        preview = client.post("/alerts/discovery/convert/", {**data, "step": "preview"})
        assert preview.status_code == 200
        assert "2 of 2 assignment(s) will change" in preview.content.decode()
        assert Assignment.objects.get(pk=first.pk).status == "live"

        done = client.post("/alerts/discovery/convert/", {**data, "step": "confirm"})
        assert done.status_code == 200 and "2 of 2 assignment(s) converted" in done.content.decode()
    for pk in (first.pk, second.pk):
        assert Assignment.objects.get(pk=pk).end_reason == "made_eligible"
    assert Assignment.objects.filter(kind="eligible", status="live",
                                     principal__in=[eve.principal, fay.principal]).count() == 2
    summary = AuditEvent.objects.get(action="assignment.make_eligible_bulk")
    assert sorted(summary.after["converted"]) == sorted([first.pk, second.pk])
    assert AuditEvent.objects.filter(action="assignment.make_eligible", actor_id=role_admin.pk).count() == 2


def test_a_posted_emergency_account_is_not_a_valid_choice(directory, role_admin, client):
    breakglass = Assignment.objects.get(principal__user__username="breakglass1", status="live")
    client.force_login(role_admin)
    response = client.post("/alerts/discovery/convert/", {"assignments": [breakglass.pk], "justification": "x",
                                                          "step": "confirm"})
    assert response.status_code == 400
    assert Assignment.objects.get(pk=breakglass.pk).status == "live"


def test_preview_names_what_would_be_refused(directory, role_admin, client):
    fresh = directory.grant(directory.user("eve"), "helpdesk-administrator")
    client.force_login(role_admin)
    preview = client.post("/alerts/discovery/convert/", {"assignments": [fresh.pk], "justification": "x"})
    page = preview.content.decode()
    assert "0 of 1 assignment(s) will change" in page and "5 minutes" in page


def test_the_bulk_service_skips_emergency_accounts(directory, role_admin):
    from alerts.services import assignment_make_eligible_bulk

    breakglass = Assignment.objects.get(principal__user__username="breakglass1", status="live")
    [result] = assignment_make_eligible_bulk(actor=role_admin, assignment_ids=[breakglass.pk], justification="x")
    assert not result.done and "emergency access" in result.message
    assert Assignment.objects.get(pk=breakglass.pk).status == "live"


def test_discovery_is_for_directory_admins(directory, client):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    client.force_login(reader)
    assert client.get("/alerts/discovery/").status_code == 403
    assert client.post("/alerts/discovery/convert/", {}).status_code == 403
