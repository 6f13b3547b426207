from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment

from .conftest import rows_of


def test_each_selected_row_is_reported_with_its_own_outcome(directory, pra_client):
    role = "exchange-administrator"
    ok = directory.grant(directory.user("okay"), role, kind="eligible")
    short = directory.grant(directory.user("shorty"), role, kind="eligible",
                            end=timezone.now() + timedelta(minutes=10))
    already_active = directory.grant(directory.user("active"), role, kind="active")

    with time_machine.travel(timezone.now() + timedelta(minutes=7)):
        response = pra_client.post(reverse("assignments:make_active_bulk"), {
            "ids": [ok.pk, short.pk, already_active.pk, 987654], "justification": "Rollback of PIM",
        })

    assert response.status_code == 200
    rows = {row["id"]: row for row in response.context["rows"]}
    assert rows[ok.pk]["done"] is True
    assert rows[short.pk]["done"] is False
    assert rows[short.pk]["message"] == "That eligible assignment ends too soon to be made active."
    assert rows[already_active.pk]["message"] == "Only eligible assignments can be made active."
    assert rows[987654]["message"] == "No such assignment."
    assert "1 of 4 assignments made active." in response.content.decode()
    table = rows_of(response)
    assert table.count("Refused") == 3 and table.count("Made active") == 1
    assert Assignment.objects.get(pk=ok.pk).status == "ended"
    assert Assignment.objects.filter(principal=ok.principal, kind="active", status="live").exists()


def test_rows_the_admin_cannot_see_are_not_touched(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    mine = directory.grant(directory.user(), "reader", "/subscriptions/s1", kind="eligible")
    theirs = directory.grant(directory.user(), "reader", "/subscriptions/s2", kind="eligible")
    response = login(owner).post(reverse("assignments:make_active_bulk"), {"ids": [mine.pk, theirs.pk]})
    rows = {row["id"]: row for row in response.context["rows"]}
    assert rows[mine.pk]["done"] is True
    assert rows[theirs.pk] == {"id": theirs.pk, "assignment": None, "done": False, "message": "No such assignment."}
    assert Assignment.objects.get(pk=theirs.pk).status == "live"


def test_the_list_offers_checkboxes_for_live_eligible_rows_only(directory, pra_client):
    eligible = directory.grant(directory.user(), "exchange-administrator", kind="eligible")
    active = directory.grant(directory.user(), "exchange-administrator", kind="active")
    table = rows_of(pra_client.get(reverse("assignments:list")))
    assert f'name="ids" value="{eligible.pk}"' in table
    assert f'name="ids" value="{active.pk}"' not in table


def test_bulk_is_post_only(pra_client):
    assert pra_client.get(reverse("assignments:make_active_bulk")).status_code == 405
