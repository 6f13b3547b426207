"""The create form: selecting several roles makes one review per role, each with its first instance
not yet started, audited; someone who does not administer a role cannot create a review of it."""

from django.utils import timezone

from audit.models import AuditEvent
from reviews.models import AccessReview
from tests.conftest import mark_mfa_verified


def _post(client, directory, **overrides):
    data = {"name": "Directory roles", "roles": [directory.role("security-administrator").pk,
                                                 directory.role("global-reader").pk],
            "scope": "/", "assignment_kinds": "eligible", "include_users": "on", "include_groups": "on",
            "reviewer_type": "named", "reviewers": "rev\nAuditors", "fallback_reviewers": "",
            "start_date": timezone.now().date().isoformat(), "duration_days": "20", "recurrence": "quarterly",
            "end_type": "after_count", "occurrences": "4", "show_recommendations": "on", "auto_apply": "on",
            "default_decision": "recommendation", "send_reminders": "on", "notify": "boss@example.com"}
    data.update(overrides)
    return client.post("/reviews/new/", data)


def test_two_roles_make_two_reviews(client, directory, global_admin):
    directory.user("rev")
    directory.user("boss", email="boss@example.com")
    directory.group("Auditors")
    client.force_login(global_admin)
    mark_mfa_verified(client)
    response = _post(client, directory)
    assert response.status_code == 302
    reviews = list(AccessReview.objects.order_by("pk"))
    assert {r.name for r in reviews} == {"Directory roles — Security Administrator", "Directory roles — Global Reader"}
    for review in reviews:
        assert set(review.reviewers.values_list("display_name", flat=True)) == {"Rev", "Auditors"}
        assert list(review.notify_on_completion.values_list("email", flat=True)) == ["boss@example.com"]
        assert (review.recurrence, review.occurrences, review.auto_apply) == ("quarterly", 4, True)
        assert list(review.instances.values_list("sequence", "status")) == [(1, "not_started")]
    assert AuditEvent.objects.filter(action="review.create").count() == 2


def test_unknown_reviewers_and_non_administrators_are_refused(client, directory):
    client.force_login(directory.user("nobody"))
    mark_mfa_verified(client)
    assert client.get("/reviews/new/").status_code == 403
    owner = directory.user("owner")
    directory.grant(owner, "owner", "/subscriptions/s1")
    client.force_login(owner)
    mark_mfa_verified(client)
    response = _post(client, directory, reviewers="ghost")
    assert response.status_code == 400 and "Nobody called &#x27;ghost&#x27; was found." in response.content.decode()
    directory.user("rev")
    response = _post(client, directory, reviewers="rev", notify="")
    assert response.status_code == 403
    assert "You are not allowed to manage" in response.content.decode()
    assert not AccessReview.objects.exists()
    assert AuditEvent.objects.filter(action="review.create", outcome="denied").count() == 1
