"""Bad input is refused with a clear message and the right status, never a 500: an item not yours
(403), a decision after the end even before the job has run (409), a deny without a reason (400),
an approve without the required reason (400), another instance's item (403)."""

from datetime import timedelta

import time_machine

from core.actors import Actor
from reviews import services

COMPLETE_JOB = Actor.system("reviews-complete")


def test_refusals_on_the_reviewer_page(client, directory, make_review, start):
    reviewer, stranger = directory.user("rev"), directory.user("stranger")
    directory.grant(directory.user("target"), "security-administrator", kind="eligible")
    instance = start(make_review(reviewers=[reviewer], require_reason_on_approve=True))
    other = start(make_review(reviewers=[stranger], name="Other"))
    item = instance.items.get()
    url = f"/reviews/mine/{instance.pk}/"

    client.force_login(stranger)
    assert client.get(url).status_code == 403
    response = client.post(url, {"items": [item.pk], "decision": "approve", "reason": "fine"})
    assert response.status_code == 403 and "You are not a reviewer of item" in response.content.decode()
    response = client.post(f"/reviews/mine/{other.pk}/", {"items": [item.pk], "decision": "approve", "reason": "x"})
    assert response.status_code == 403  # an item of another instance is never decided through this one

    client.force_login(reviewer)
    response = client.post(url, {"items": [item.pk], "decision": "deny", "reason": ""})
    assert response.status_code == 400 and "Say why access should be removed" in response.content.decode()
    response = client.post(url, {"items": [item.pk], "decision": "approve"})
    assert response.status_code == 400 and "requires a reason to approve" in response.content.decode()
    response = client.post(url, {"items": ["abc"], "decision": "approve"})
    assert response.status_code == 400
    response = client.post(url, {"items": [item.pk], "decision": "deny", "reason": "left"})
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.decision == "deny"

    with time_machine.travel(instance.end_at + timedelta(seconds=1), tick=False):
        client.force_login(reviewer)  # a fresh session: the first one has expired by then
        response = client.post(url, {"items": [item.pk], "decision": "approve", "reason": "back"})
        assert response.status_code == 409
        assert "decisions can no longer be taken or changed" in response.content.decode()
        services.review_instance_complete(instance=instance, actor=COMPLETE_JOB)
        response = client.post(url, {"items": [item.pk], "decision": "approve", "reason": "back"})
        assert response.status_code == 409
    item.refresh_from_db()
    assert item.decision == "deny"


def test_administrator_only_actions_are_refused_to_reviewers(client, directory, make_review, start):
    reviewer = directory.user("rev")
    directory.grant(directory.user("target"), "security-administrator", kind="eligible")
    instance = start(make_review(reviewers=[reviewer]))
    client.force_login(reviewer)
    assert client.get("/reviews/").status_code == 403
    assert client.get(f"/reviews/instances/{instance.pk}/").status_code == 403
    assert client.post(f"/reviews/instances/{instance.pk}/complete/").status_code == 403
    assert client.get(f"/reviews/instances/{instance.pk}/results.csv").status_code == 403
    instance.refresh_from_db()
    assert instance.status == "in_progress"
