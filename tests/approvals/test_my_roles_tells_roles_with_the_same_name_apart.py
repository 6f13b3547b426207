"""My roles: roles sharing a name are told apart by their kind ("Owner (group)", "Owner (resource)"),
the privileged label is spelled out, and dates stay on one line."""

from django.urls import reverse


def test_owner_of_a_group_and_of_a_subscription(client, directory, requester, later):
    group = directory.group("Ops team")
    directory.grant(requester, "group-owner", group.group_scope, kind="eligible")
    directory.grant(requester, "owner", "/subscriptions/s1", kind="eligible", end=later(days=20))
    client.force_login(requester)
    page = client.get(reverse("approvals:my_roles")).content.decode()
    assert "Owner (group)" in page and "Owner (resource)" in page
    assert '<span class="badge badge-warn">Privileged</span>' in page
    assert f'<span class="nowrap"><time datetime="{later(days=20):%Y-%m-%d}' in page  # on one line
