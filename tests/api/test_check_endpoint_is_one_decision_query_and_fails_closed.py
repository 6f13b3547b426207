from datetime import timedelta
from unittest import mock

import time_machine
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments.models import Assignment
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _check(persona, **params):
    return persona.client().get("/api/v1/check", params)


def _assignment_queries(queries):
    table = Assignment._meta.db_table
    return [q["sql"] for q in queries if table in q["sql"]]


def test_allowed_with_the_granting_assignment_and_its_end(world, directory, auditor_p):
    target = directory.user("target")
    end = timezone.now() + timedelta(hours=2)
    held = directory.grant(target, "exchange-administrator", end=end)
    body = _check(auditor_p, principal=target.principal.pk, role="exchange-administrator", scope="/").json()
    assert body["allowed"] is True
    assert body["assignment"] == held.pk
    assert body["via_group"] is None
    assert body["ends_at"].startswith(end.isoformat()[:19])
    assert body["evaluated_at"]


def test_denied_when_only_eligible_and_at_end_to_the_microsecond(world, directory, auditor_p):
    target = directory.user("target")
    directory.grant(target, "exchange-administrator", kind="eligible")
    body = _check(auditor_p, principal=target.principal.pk, role="exchange-administrator", scope="/").json()
    assert body == {**body, "allowed": False, "assignment": None, "ends_at": None}
    end = timezone.now() + timedelta(hours=1)
    directory.grant(target, "exchange-administrator", end=end)
    with time_machine.travel(end - timedelta(microseconds=1), tick=False):
        assert _check(auditor_p, principal=target.principal.pk, role="exchange-administrator").json()["allowed"]
    with time_machine.travel(end, tick=False):
        assert not _check(auditor_p, principal=target.principal.pk, role="exchange-administrator").json()["allowed"]


def test_principal_by_id_object_id_or_username_and_role_by_slug_or_id(world, directory, auditor_p):
    target = directory.user("target")
    held = directory.grant(target, "reader", "/subscriptions/s1")
    role_id = held.role_id
    for ref in [target.principal.pk, str(target.principal.object_id), "target"]:
        for role in ["reader", role_id]:
            body = _check(auditor_p, principal=ref, role=role, scope="/subscriptions/s1/resourceGroups/rg1").json()
            assert body["allowed"] and body["assignment"] == held.pk, (ref, role)
    assert not _check(auditor_p, principal="target", role="reader", scope="/subscriptions/s2").json()["allowed"]
    assert not _check(auditor_p, principal="nobody", role="reader", scope="/subscriptions/s1").json()["allowed"]


def test_through_a_group_names_the_group(world, directory, auditor_p):
    target = directory.user("target")
    group = directory.group("ops")
    directory.add_member(group, target)
    held = directory.grant(group, "contributor", "/subscriptions/s1")
    body = _check(auditor_p, principal=target.principal.pk, role="contributor", scope="/subscriptions/s1").json()
    assert body["allowed"] and body["assignment"] == held.pk and body["via_group"] == group.pk


def test_by_permission_action(world, directory, auditor_p):
    target = directory.user("target")
    held = directory.grant(target, "helpdesk-administrator")
    body = _check(auditor_p, principal=target.principal.pk, action="microsoft.directory/users/password/update").json()
    assert body["allowed"] and body["assignment"] == held.pk
    assert not _check(auditor_p, principal=target.principal.pk, action="microsoft.directory/roles/delete").json()[
        "allowed"]


def test_exactly_one_decision_query_by_id_and_by_object_id(world, directory, auditor_p, monkeypatch):
    monkeypatch.setattr("api.views.CHECK_AUTHORITY_TTL_SECONDS", 3600)  # no expiry in the middle of the test
    target = directory.user("target")
    directory.grant(target, "exchange-administrator")
    client = auditor_p.client()
    client.get("/api/v1/ping")  # the token's first use records its last use (once a minute at most)
    with CaptureQueriesContext(connection) as first:
        client.get("/api/v1/check", {"principal": target.principal.pk, "role": "exchange-administrator"})
    # First call: authentication, the caller's viewer role (then remembered for a second), the decision.
    assert len(first) == 3 and len(_assignment_queries(first)) == 2
    for ref in [target.principal.pk, str(target.principal.object_id)]:
        client.get("/api/v1/check", {"principal": ref, "role": "exchange-administrator"})  # object-id cache warm
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/api/v1/check", {"principal": ref, "role": "exchange-administrator", "scope": "/"})
        assert response.json()["allowed"]
        assert len(queries) == 2, [q["sql"] for q in queries]  # authentication and the decision
        assert len(_assignment_queries(queries)) == 1


def test_the_callers_permission_to_ask_about_others_is_re_evaluated_within_a_second(world, directory, auditor_p,
                                                                                     monkeypatch):
    import time

    from assignments import services

    clock = [time.monotonic()]
    monkeypatch.setattr("api.views.time.monotonic", lambda: clock[0])
    target = directory.user("target")
    params = {"principal": target.principal.pk, "role": "exchange-administrator"}
    client = auditor_p.client()
    assert client.get("/api/v1/check", params).status_code == 200
    reader = auditor_p.principal.assignments.get(role__slug="global-reader")
    services.assignment_end(assignment=reader, reason="removed", now=timezone.now(), actor=SETUP)
    clock[0] += 0.5
    assert client.get("/api/v1/check", params).status_code == 200  # remembered for up to a second
    clock[0] += 0.6
    assert client.get("/api/v1/check", params).status_code == 403


def test_asking_about_oneself_is_authentication_plus_one_decision_query(world, sp_p):
    client = sp_p.client()
    client.get("/api/v1/ping")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/v1/check", {"principal": sp_p.principal.pk, "role": "user-access-administrator",
                                                "scope": "/subscriptions/s1/resourceGroups/rg1"})
    assert response.json()["allowed"] is True
    assert len(queries) == 2, [q["sql"] for q in queries]
    assert len(_assignment_queries(queries)) == 1


def test_asking_about_others_needs_a_directory_viewer_role(world, requester_p, admin_p):
    response = _check(requester_p, principal=admin_p.principal.pk, role="privileged-role-administrator")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    own = _check(requester_p, principal=requester_p.principal.pk, role="helpdesk-administrator")
    assert own.status_code == 200 and own.json()["allowed"] is False


def test_fails_closed_with_503_when_the_database_cannot_answer(world, auditor_p):
    client = auditor_p.client()
    with mock.patch("api.views.access_find_grant", side_effect=DatabaseError("connection lost")):
        response = client.get("/api/v1/check", {"principal": 1, "role": "global-administrator"})
    assert response.status_code == 503
    assert response.json()["allowed"] is False
    assert response.json()["assignment"] is None


def test_bad_input_is_400_never_500(world, auditor_p):
    for params in [{}, {"principal": "1"}, {"principal": "1", "role": "x", "action": "y"},
                   {"principal": "1", "role": "x", "scope": "no-slash"}, {"principal": "\x00", "role": "x"},
                   {"principal": "9" * 40, "role": "9" * 40}]:
        response = _check(auditor_p, **params)
        assert response.status_code in (200, 400), (params, response.status_code)
        if response.status_code == 400:
            assert response.json()["error"]["code"] == "invalid"


def test_anonymous_is_401(world, anonymous_p):
    assert _check(anonymous_p, principal=1, role="reader").status_code == 401


def test_the_decision_runs_as_a_prepared_statement_on_postgresql(world, auditor_p, postgres):
    client = auditor_p.client()
    for _ in range(3):
        client.get("/api/v1/check", {"principal": auditor_p.principal.pk, "role": "global-reader"})
    with postgres.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE NOT from_sql")
        assert cursor.fetchone()[0] >= 1  # planned once per connection, not on every check
