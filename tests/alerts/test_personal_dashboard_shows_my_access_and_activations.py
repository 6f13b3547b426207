"""The home page is a small dashboard for requesters: my roles, my pending requests, what ends within
14 days and my activations per day as an SVG chart."""

from datetime import timedelta

from django.utils import timezone

from approvals.models import Request


def test_home_shows_my_figures(directory, client, activate):
    me = directory.user("eve")
    eligible = directory.grant(me, "helpdesk-administrator", kind="eligible")
    directory.grant(me, "reader", "/subscriptions/s1", end=timezone.now() + timedelta(days=5))
    activate(eligible)
    Request.objects.create(action="self_activate", status="pending_approval", requested_by=me, principal=me.principal,
                           role=eligible.role, scope=eligible.scope, created_at=timezone.now())
    directory.grant(directory.user("other"), "helpdesk-administrator", kind="eligible")
    client.force_login(me)
    page = client.get("/").content.decode()
    assert 'data-stat="my-pending">1<' in page
    assert 'data-stat="my-expiring">1<' in page
    assert 'class="chart chart-my-activations"' in page and 'role="img"' in page
    assert "1 in total" in page  # the chart's description: one activation
