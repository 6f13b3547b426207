"""My requests: a Pending tab (waiting for a decision or a start) and a History tab, each paginated;
a request whose assignment has ended since reads "Ended", not "Provisioned"."""

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

from approvals import services


def test_pending_and_history_tabs(client, directory, requester, policy, eligible, activate, approver):
    policy("helpdesk-administrator")
    policy("exchange-administrator", require_approval=True, approvers=[approver])
    done = activate(requester, eligible(requester))
    waiting = activate(requester, eligible(requester, "exchange-administrator"))
    client.force_login(requester)
    default = client.get(reverse("approvals:my_requests")).content.decode()
    assert 'href="?tab=pending" aria-current="page"' in default  # something waits: Pending first
    assert str(waiting.pk) in default and str(done.pk) not in default
    history = client.get(reverse("approvals:my_requests"), {"tab": "history"}).content.decode()
    assert str(done.pk) in history and str(waiting.pk) not in history
    assert 'badge-ok">Provisioned</span>' in history
    services.request_cancel(actor=requester, request=waiting)
    default = client.get(reverse("approvals:my_requests")).content.decode()
    assert 'href="?tab=history" aria-current="page"' in default and str(waiting.pk) in default
    assert client.get(reverse("approvals:my_requests"), {"tab": "bogus", "page": "x"}).status_code == 200


def test_an_ended_activation_is_not_shown_as_provisioned(client, directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator")
    activate(requester, eligible(requester), duration_minutes=60)
    client.force_login(requester)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        page = client.get(reverse("approvals:my_requests"), {"tab": "history"}).content.decode()
        assert 'badge-ok">Provisioned</span>' not in page and '">Ended</span>' in page


def test_history_is_paginated(client, directory, requester, policy, activate):
    policy("contributor")
    for i in range(27):
        activate(requester, directory.grant(requester, "contributor", f"/subscriptions/p{i}", kind="eligible"))
    client.force_login(requester)
    first = client.get(reverse("approvals:my_requests")).content.decode()
    assert first.count('data-testid="request"') == 25 and "Page 1 of 2" in first and "tab=history&amp;page=2" in first
    second = client.get(reverse("approvals:my_requests"), {"tab": "history", "page": 2}).content.decode()
    assert second.count('data-testid="request"') == 2
