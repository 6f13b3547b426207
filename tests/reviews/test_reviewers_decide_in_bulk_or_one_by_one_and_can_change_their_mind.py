"""Reviewers decide one item, the selected items, or every item shown on the page; a later decision
replaces an earlier one until the end, and each change is audited with what it replaced."""

from audit.models import AuditEvent


def test_bulk_page_and_single_decisions(client, directory, make_review, start):
    reviewer = directory.user("rev")
    for name in ("ann", "ben", "cid", "dan"):
        directory.grant(directory.user(name), "security-administrator", kind="eligible")
    instance = start(make_review(reviewers=[reviewer]))
    ids = list(instance.items.order_by("pk").values_list("pk", flat=True))
    url = f"/reviews/mine/{instance.pk}/"
    client.force_login(reviewer)

    response = client.post(url, {"apply_to": "page", "page_items": ids, "decision": "approve"})
    assert response.status_code == 302
    assert set(instance.items.values_list("decision", flat=True)) == {"approve"}

    response = client.post(url, {"items": ids[:2], "decision": "dont_know", "reason": "ask the manager"})
    assert response.status_code == 302
    response = client.post(url, {"items": [ids[0]], "decision": "deny", "reason": "left"})
    assert response.status_code == 302
    decisions = dict(instance.items.values_list("pk", "decision"))
    assert decisions == {ids[0]: "deny", ids[1]: "dont_know", ids[2]: "approve", ids[3]: "approve"}
    assert client.post(url, {"decision": "approve"}).status_code == 400  # nothing selected

    last = AuditEvent.objects.filter(action="review.decide").order_by("-seq").first()
    assert last.before == {"decisions": {str(ids[0]): "dont_know"}}
    assert last.after == {"decision": "deny", "items": [ids[0]]} and last.justification == "left"
    assert AuditEvent.objects.filter(action="review.decide").count() == 3
