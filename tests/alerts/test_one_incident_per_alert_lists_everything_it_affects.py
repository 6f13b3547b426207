"""An alert has one incident listing everything it affects (not one line per user), refreshed by
each evaluation; a dismissed incident stays quiet for what it listed, and something new opens a new
one. The incidents page groups incidents by alert, with sortable columns."""

from django.urls import reverse

from alerts.models import Incident
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

KEY = "stale_accounts_in_privileged_roles"


def _stale(directory, name):
    from assignments.models import User

    user = directory.user(name)
    directory.grant(user, "user-administrator")
    User.objects.filter(pk=user.pk).update(last_login=None, date_joined="2020-01-01T00:00:00Z")
    return user


def test_many_stale_accounts_are_one_incident_listing_each(directory, evaluate, open_incidents):
    users = [_stale(directory, f"stale{n}") for n in range(3)]
    result = evaluate(KEY)
    assert (result.findings, result.opened) == (3, 1)
    [incident] = open_incidents(KEY)
    assert {item["principal_id"] for item in incident.items} == {u.principal.pk for u in users}
    assert len(incident.affected) == 3 and incident.affects == 3
    assert "3 findings" in incident.title and incident.principal is None

    _stale(directory, "stale3")
    assert evaluate(KEY).opened == 0  # the same incident, now listing four
    [again] = open_incidents(KEY)
    assert again.pk == incident.pk and len(again.items) == 4
    assert Incident.objects.filter(alert_key=KEY).count() == 1


def test_a_dismissed_incident_stays_quiet_until_something_new_appears(directory, role_admin, evaluate,
                                                                      open_incidents):
    from alerts.services import incident_dismiss

    _stale(directory, "stale0")
    _stale(directory, "stale1")
    evaluate(KEY)
    [incident] = open_incidents(KEY)
    incident_dismiss(actor=role_admin, incident=incident, reason="Known service accounts")
    assert evaluate(KEY).opened == 0 and open_incidents(KEY) == []

    _stale(directory, "stale2")
    assert evaluate(KEY).opened == 1
    [new] = open_incidents(KEY)
    assert new.pk != incident.pk and len(new.items) == 3
    incident.refresh_from_db()
    assert (incident.status, incident.is_current) == (Incident.Status.DISMISSED, False)


def test_the_incidents_page_groups_by_alert_with_sortable_columns(directory, global_admin, evaluate, client):
    _stale(directory, "stale0")
    _stale(directory, "stale1")
    evaluate(KEY)
    evaluate("too_many_global_admins")
    client.force_login(global_admin)
    page = client.get(reverse("alerts:incidents")).content.decode()
    assert 'id="group-stale_accounts_in_privileged_roles"' in page
    assert 'id="group-too_many_global_admins"' in page
    assert page.index("group-stale_accounts_in_privileged_roles") < page.index("group-too_many_global_admins")
    assert page.count("data-sortable") >= 2 and '<button type="button" class="sort">Affects</button>' in page
    assert "js/sortable" in page


def test_the_incident_page_lists_each_item_and_offers_the_fix_per_setting(directory, global_admin, evaluate,
                                                                          open_incidents, client):
    from assignments.services import role_setting_update

    role_setting_update(actor=SETUP, role=directory.role("user-administrator"), scope=directory.root,
                        values={"require_mfa_on_activation": False})
    evaluate("roles_without_mfa")
    [incident] = open_incidents("roles_without_mfa")
    client.force_login(global_admin)
    page = client.get(reverse("alerts:incident", args=[incident.pk])).content.decode()
    assert "What it affects (2)" in page
    for item in incident.items:
        assert f'name="setting_id" value="{item["data"]["setting_id"]}"' in page
    bad = client.post(reverse("alerts:incident_action", args=[incident.pk, "require-mfa"]), {"setting_id": "x1"})
    assert bad.status_code == 400
