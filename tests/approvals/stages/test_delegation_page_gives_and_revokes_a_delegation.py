"""The Delegation page (Account): give a delegation by user name and dates, see it in force, revoke it;
mistakes are form errors (400), not 500s."""

import pytest
from django.urls import reverse

from approvals.models import ApprovalDelegation

pytestmark = pytest.mark.django_db


def test_give_then_revoke(directory, verified_client):
    boss, deputy = directory.user("boss"), directory.user("deputy")
    client = verified_client(boss)
    url = reverse("approvals:delegation")
    assert client.get(url).status_code == 200

    assert client.post(url, {"delegate": "boss", "starts_at": "2020-01-01T10:00", "ends_at": "2099-01-01T10:00"}
                       ).status_code == 400
    assert client.post(url, {"delegate": "ghost", "starts_at": "2020-01-01T10:00", "ends_at": "2099-01-01T10:00"}
                       ).status_code == 400
    assert client.post(url, {"delegate": "deputy", "starts_at": "garbage", "ends_at": ""}).status_code == 400

    from django.utils import timezone
    start = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    end = (timezone.localtime() + timezone.timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    done = client.post(url, {"delegate": "Deputy", "starts_at": start, "ends_at": end, "reason": "holiday"})
    assert done.status_code == 302
    delegation = ApprovalDelegation.objects.get()
    assert delegation.delegate == deputy and delegation.reason == "holiday"
    page = client.get(url).content.decode()
    assert "in force" in page and "Deputy" in page
    assert "Boss" in verified_client(deputy).get(url).content.decode()

    assert client.post(url, {"delegation": str(delegation.pk)}).status_code == 302
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None and delegation.revoked_by == boss
    # Someone else's delegation: refused, unchanged.
    other = verified_client(directory.user("stranger"))
    assert other.post(url, {"delegation": str(delegation.pk)}).status_code == 403
