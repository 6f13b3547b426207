"""Assignments: Eligible / Active / Expired tabs (and All), rows grouped by role, dates on one line, the
privileged label spelled out, and roles that share a name told apart by their kind."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from .conftest import rows_of


def _arrange(directory, global_admin):
    eli, act, old = directory.user("eli"), directory.user("act"), directory.user("old")
    group = directory.group("Ops team")
    directory.grant(eli, "exchange-administrator", kind="eligible")
    directory.grant(act, "exchange-administrator", kind="active")
    directory.grant(old, "exchange-administrator", kind="eligible", end=timezone.now() + timedelta(hours=1))
    directory.grant(act, "group-owner", group.group_scope, kind="active")
    directory.grant(act, "owner", "/subscriptions/s1", kind="active")
    directory.grant(global_admin, "user-access-administrator", "/")  # sees resource roles too


def test_tabs_split_eligible_active_and_expired(directory, global_admin, login):
    _arrange(directory, global_admin)
    client = login(global_admin)
    base = reverse("assignments:list")
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        default = client.get(base)
        page = default.content.decode()
        assert 'aria-current="page">Eligible<' in page
        eligible = rows_of(default)
        assert "Eli" in eligible and "Act" not in eligible and "Old" not in eligible
        active = rows_of(client.get(base + "?tab=active"))
        assert "Act" in active and "Eli" not in active
        expired = rows_of(client.get(base + "?tab=expired"))
        assert "Old" in expired and "Eli" not in expired and "Act" not in expired
        everything = rows_of(client.get(base + "?tab=all&state="))
        assert all(name in everything for name in ("Eli", "Act", "Old"))
        # Tab links keep the other filters, not the kind and state the tab sets.
        filtered = client.get(base + "?tab=active&q=act&state=current").content.decode()
        assert 'href="?tab=expired&amp;q=act"' in filtered


def test_rows_are_grouped_by_role_with_labels_that_tell_same_names_apart(directory, global_admin, login):
    _arrange(directory, global_admin)
    active = rows_of(login(global_admin).get(reverse("assignments:list") + "?tab=active"))
    assert "Owner (group)" in active and "Owner (resource)" in active
    assert 'class="group-row"' in active and active.count('class="group-row"') == 5
    assert '<span class="badge badge-warn">Privileged</span>' in active and '>P</span>' not in active
    assert '<span class="nowrap">' in active
    options = login(global_admin).get(reverse("assignments:list")).content.decode()
    assert ">Owner (group)</option>" in options and ">Owner (resource)</option>" in options
    assert ">Exchange Administrator</option>" in options  # a unique name stays as it is


def test_old_links_by_kind_and_state_open_the_matching_tab(directory, global_admin, login):
    client = login(global_admin)
    base = reverse("assignments:list")
    assert 'aria-current="page">Active<' in client.get(base + "?kind=active").content.decode()
    assert 'aria-current="page">Expired<' in client.get(base + "?state=expired").content.decode()
    assert 'aria-current="page">All<' in client.get(base + "?principal=1&state=").content.decode()
    assert client.get(base + "?tab=nonsense&state=bogus").status_code == 200
