"""The SQL of one API self-activation (Helpdesk Administrator: ticket, no approval, no MFA), counted
with Django's CaptureQueriesContext and grouped by the project function that issued each statement;
then how long the chain head stays locked per activation (from the statement that first locks it
to the end of COMMIT) and the whole transaction, median and max of `--runs` activations, one client.

    [DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME PIM_TEST_DB_NAME=test_NAME] [PIM_BENCH_RUNS=20] \
    .venv/bin/python bench/api_activation_queries.py

Runs against a fresh test database (created and dropped, like the test suite's), SQLite by default.
PIM_BENCH_SQL=1 also prints every statement of the measured activation, in order.
"""

import os
import sys
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _source(sql: str, stack) -> str:
    """The innermost frame in the project's code (not Django, not the database backend, not this
    script); savepoints are named as such, after the function whose atomic block opened or closed it."""
    kind = sql.split()[0].upper()
    suffix = " [savepoint]" if kind in ("SAVEPOINT", "RELEASE", "ROLLBACK") else ""
    for frame in reversed(stack):
        path = Path(frame.filename)
        if (ROOT in path.parents and ".venv" not in path.parts and "backends" not in path.parts
                and path.name != Path(__file__).name):
            return f"{path.relative_to(ROOT)}:{frame.name}{suffix}"
    return f"django{suffix}"


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner, setup_test_environment

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_test_environment()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    try:
        run()
    finally:
        runner.teardown_databases(old_config)


def run() -> None:
    import statistics
    import time

    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone
    from rest_framework.test import APIClient

    from api import services as api_services
    from assignments import services
    from assignments.bootstrap import bootstrap_all
    from assignments.models import RoleDefinition, Scope
    from core.actors import Actor

    bootstrap_all()
    role, root = RoleDefinition.objects.get(slug="helpdesk-administrator"), Scope.objects.get(path="/")

    setup = Actor.system("bench-setup")

    def person(n):
        user = services.user_create(username=f"requester{n}", password="bench-password-123",
                                    email=f"r{n}@example.com", display_name=f"Requester {n}", actor=setup)
        eligible = services.assignment_create(actor=setup, principal=user.principal, role=role, scope=root,
                                              kind="eligible", justification="bench")
        client = APIClient()
        _, secret = api_services.token_create_personal(actor=user, name="b", mfa_verified_at=timezone.now())
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return client, eligible

    def activate(client, eligible):
        return client.post("/api/v1/requests/", {
            "action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60,
            "justification": "bench", "ticket_system": "jira", "ticket_number": "OPS-1"}, format="json")

    client, eligible = person(0)

    sources = []

    def note(execute, sql, params, many, context):
        sources.append(_source(sql, traceback.extract_stack()[:-1]))
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(note):
        response = activate(client, eligible)
    assert response.status_code == 201, response.content
    # Transaction control (BEGIN, SAVEPOINT, RELEASE, COMMIT) is captured but does not go through
    # execute wrappers: attribute what the wrapper did not see to it.
    by_source = Counter(sources)
    control = len(queries.captured_queries) - len(sources)
    print(f"{connection.vendor}: {len(queries.captured_queries)} queries for one API self-activation")
    for source, count in by_source.most_common():
        print(f"  {count:3d}  {source}")
    if control:
        print(f"  {control:3d}  transaction control (BEGIN / SAVEPOINT / RELEASE / COMMIT)")
    if os.environ.get("PIM_BENCH_SQL"):  # every statement, in order, to see what a source issues
        for q in queries.captured_queries:
            print("   ", " ".join(q["sql"].split())[:160])
    kinds = Counter(q["sql"].split()[0].upper() for q in queries.captured_queries)
    print("  by statement:", ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))

    marks: dict = {}

    def mark_lock(execute, sql, params, many, context):
        if "audit_auditchainhead" in sql and "FOR UPDATE" in sql.upper():
            marks.setdefault("locked", time.perf_counter())
        if "BEGIN" not in marks and not connection.get_autocommit():
            marks.setdefault("begin", time.perf_counter())
        return execute(sql, params, many, context)

    commit = connection.commit

    def timed_commit():
        commit()
        marks["committed"] = time.perf_counter()

    connection.commit = timed_commit
    holds, transactions = [], []
    for n in range(1, args_runs() + 1):
        client, eligible = person(n)
        marks.clear()
        with connection.execute_wrapper(mark_lock):
            assert activate(client, eligible).status_code == 201
        # SQLite has no row locks: BEGIN IMMEDIATE takes the database's write lock, so the head is
        # held from the transaction's start; PostgreSQL locks it with the chain's FOR UPDATE.
        holds.append((marks["committed"] - marks.get("locked", marks["begin"])) * 1000)
        transactions.append((marks["committed"] - marks["begin"]) * 1000)
    connection.commit = commit
    print(f"  chain head held per activation: median {statistics.median(holds):.2f} ms, max {max(holds):.2f} ms; "
          f"transaction: median {statistics.median(transactions):.2f} ms ({len(holds)} activations)")


def args_runs() -> int:
    return int(os.environ.get("PIM_BENCH_RUNS", "20"))


if __name__ == "__main__":
    main()
