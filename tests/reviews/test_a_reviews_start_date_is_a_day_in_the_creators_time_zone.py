"""The start date typed on the review form is a day in the creator's zone: each occurrence runs from
midnight there, for whole local days (a clock change makes one 23 hours), and "today" is the local day."""

from datetime import UTC, datetime

import time_machine

from assignments.models import User
from reviews.models import AccessReview
from tests.conftest import mark_mfa_verified

# 23:30 UTC on 14 March 2027 is already 15 March in Paris (UTC+1); summer time starts on 28 March.
NOW = datetime(2027, 3, 14, 23, 30, tzinfo=UTC)


def _post(client, directory, start_date, duration_days="20"):
    return client.post("/reviews/new/", {
        "name": "Paris review", "roles": [directory.role("security-administrator").pk], "scope": "/",
        "assignment_kinds": "both", "include_users": "on", "reviewer_type": "named", "reviewers": "rev",
        "fallback_reviewers": "", "start_date": start_date, "duration_days": duration_days,
        "recurrence": "one_time", "end_type": "never", "default_decision": "no_change", "notify": ""})


def test_a_paris_creator_types_a_paris_day(client, directory, global_admin):
    directory.user("rev")
    User.objects.filter(pk=global_admin.pk).update(time_zone="Europe/Paris")
    with time_machine.travel(NOW, tick=False):
        client.force_login(global_admin)
        mark_mfa_verified(client)
        page = client.get("/reviews/new/").content.decode()
        assert "Start date (Europe/Paris)" in page
        assert 'value="2027-03-15"' in page  # today in Paris
        refused = _post(client, directory, "2027-03-14")
        assert refused.status_code == 400 and "cannot be in the past" in refused.content.decode()
        response = _post(client, directory, "2027-03-15")
        assert response.status_code == 302, response.content.decode()[:2000]
    review = AccessReview.objects.get()
    assert review.time_zone == "Europe/Paris"
    instance = review.instances.get()
    assert instance.start_at == datetime(2027, 3, 14, 23, 0, tzinfo=UTC)  # midnight CET
    assert instance.end_at == datetime(2027, 4, 3, 22, 0, tzinfo=UTC)  # midnight CEST, 20 local days later
