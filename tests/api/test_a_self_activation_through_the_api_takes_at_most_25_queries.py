"""One API self-activation (Helpdesk Administrator: ticket, no approval, no MFA) issues at most 25 SQL
statements, transaction control included, on the engine the suite runs on: with a token on its first use
(which records the token's last use) as well as with one used within the last minute (the steady state:
last use is recorded at most once a minute). 43 before the work per activation was cut, then 26 on a
token's first use. `bench/api_activation_queries.py` prints them by source.

On SQLite (the embedded default) the audit chain takes three statements where PostgreSQL takes one
(`audit/chain.py`: there the database seals the event, inserts it and moves the head in one
statement; SQLite reads the head, inserts, then moves it), so the limit there is two higher."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import ApiToken
from approvals.models import Request
from assignments.models import Assignment
from notifications.models import OutboxMessage

from .conftest import eligible_of

LIMIT = 25
AUDIT_CHAIN_EXTRA = {"postgresql": 0, "sqlite": 2}


@pytest.mark.parametrize("token_use", ["first use", "used within the minute"])
def test_a_self_activation_through_the_api_takes_at_most_25_queries(world, requester_p, admin_p, token_use):
    eligible = eligible_of(requester_p, "helpdesk-administrator")
    client = requester_p.client()
    if token_use == "used within the minute":
        assert client.get("/api/v1/requests/").status_code == 200  # the token's last use is now recorded
    else:
        assert not ApiToken.objects.filter(user=requester_p.user, last_used_at__isnull=False).exists()
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/requests/", {
            "action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60,
            "justification": "incident", "ticket_system": "jira", "ticket_number": "OPS-1"}, format="json")
    assert response.status_code == 201, response.json()
    statements = "\n".join(" ".join(q["sql"].split())[:120] for q in queries.captured_queries)
    limit = LIMIT + AUDIT_CHAIN_EXTRA[connection.vendor]
    assert len(queries.captured_queries) <= limit, f"{len(queries.captured_queries)} statements:\n{statements}"
    # Still the whole activation: provisioned, held, the holder and the role's administrator mailed, and
    # the token's last use recorded.
    body = response.json()
    assert Request.objects.get(pk=body["request"]["id"]).status == Request.Status.PROVISIONED
    assert body["request"]["decisions"] == []
    activation = Assignment.objects.get(pk=body["assignment"]["id"])
    assert activation.status == Assignment.Status.LIVE and activation.activated_from_id == eligible.pk
    mailed = set(OutboxMessage.objects.filter(dedupe_key__startswith=f"activated:{activation.pk}:")
                 .values_list("payload__to", flat=True))
    assert mailed == {requester_p.user.email, admin_p.user.email}
    assert ApiToken.objects.get(user=requester_p.user).last_used_at is not None
