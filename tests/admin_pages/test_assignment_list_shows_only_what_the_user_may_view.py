from django.urls import reverse

from .conftest import rows_of


def test_subscription_owner_sees_assignments_at_and_below_their_scope_only(directory, login):
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    inside = directory.user("kimin")
    outside = directory.user("edfar")
    directory.grant(inside, "reader", "/subscriptions/s1/resourceGroups/rg1", kind="eligible")
    directory.grant(outside, "reader", "/subscriptions/s2", kind="eligible")
    directory.grant(outside, "exchange-administrator", kind="eligible")

    content = rows_of(login(owner).get(reverse("assignments:list")))
    assert "Kimin" in content
    assert "Edfar" not in content
    assert "Exchange Administrator" not in content


def test_global_reader_sees_directory_roles_but_no_change_buttons(directory, login):
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    holder = directory.user("holder")
    assignment = directory.grant(holder, "exchange-administrator", kind="eligible")
    client = login(reader)

    listing = rows_of(client.get(reverse("assignments:list") + "?role_kind=directory"))
    assert "Holder" in listing
    detail = client.get(reverse("assignments:detail", args=[assignment.pk])).content.decode()
    assert "You can see this assignment but not change it." in detail
    assert reverse("assignments:remove", args=[assignment.pk]) not in detail


def test_list_filters_by_scope_below_state_principal_and_kind(directory, pra_client, login):
    uaa = directory.user("uaa")
    directory.grant(uaa, "user-access-administrator", "/")
    client = login(uaa)
    a = directory.user("alpha")
    b = directory.user("beta")
    directory.grant(a, "reader", "/subscriptions/s1/resourceGroups/rg1", kind="eligible")
    directory.grant(b, "reader", "/subscriptions/s2", kind="active")
    base = reverse("assignments:list")

    below = rows_of(client.get(base + "?scope=/subscriptions/s1&below=on"))
    assert "Alpha" in below and "Beta" not in below
    exact = rows_of(client.get(base + "?scope=/subscriptions/s1"))
    assert "Alpha" not in exact
    active = rows_of(client.get(base + "?kind=active&role_kind=resource"))
    assert "Beta" in active and "Alpha" not in active
    by_principal = rows_of(client.get(base + f"?principal={b.principal.pk}&tab=all"))
    assert "Beta" in by_principal and "Alpha" not in by_principal
    text = rows_of(client.get(base + "?q=alph"))
    assert "Alpha" in text and "Beta" not in text
    scheduled = rows_of(client.get(base + "?state=scheduled"))
    assert "No assignment matches these filters." in scheduled  # a state without a kind: the All tab
