"""Under self-review each user sees and decides only their own items; a group's or an application's
item goes to the fallback reviewers; deciding someone else's item is refused (403 on the page)."""

import pytest
from django.utils import timezone

from core.errors import DomainError
from reviews import selectors, services


def test_each_user_decides_only_their_own_item(client, directory, make_review, start, later):
    alice, bob, fallback = directory.user("alice"), directory.user("bob"), directory.user("fallback")
    group = directory.group("Ops", role_assignable=True)
    app = directory.service_principal("app")
    a = directory.grant(alice, "security-administrator", kind="eligible")
    b = directory.grant(bob, "security-administrator", kind="eligible")
    g = directory.grant(group, "security-administrator", kind="eligible")
    s = directory.grant(app, "security-administrator", kind="active", end=later(days=10))
    instance = start(make_review(reviewer_type="self", fallback=[fallback]))
    items = {i.assignment_id: i for i in instance.items.all()}

    now = timezone.now()
    assert set(selectors.reviewer_items(user=alice, instance=instance, at=now).values_list("pk", flat=True)) == {
        items[a.pk].pk}
    assert set(selectors.reviewer_items(user=fallback, instance=instance, at=now).values_list("pk", flat=True)) \
        == {items[g.pk].pk, items[s.pk].pk}

    services.review_item_decide(actor=alice, instance=instance, item_ids=[items[a.pk].pk], decision="approve")
    with pytest.raises(DomainError) as refused:
        services.review_item_decide(actor=alice, instance=instance, item_ids=[items[b.pk].pk], decision="deny",
                                    reason="not mine to decide")
    assert refused.value.code == "forbidden" and f"#{items[b.pk].pk}" in refused.value.message
    items[b.pk].refresh_from_db()
    assert items[b.pk].decision == ""

    client.force_login(alice)
    page = client.get(f"/reviews/mine/{instance.pk}/").content.decode()
    assert "Alice" in page and "Bob" not in page
    response = client.post(f"/reviews/mine/{instance.pk}/", {"items": [items[b.pk].pk], "decision": "deny",
                                                             "reason": "x"})
    assert response.status_code == 403
    assert "You are not a reviewer of item" in response.content.decode()
