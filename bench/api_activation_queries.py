"""The SQL of one API self-activation (Helpdesk Administrator: ticket, no approval, no MFA), counted
with Django's CaptureQueriesContext and grouped by the project function that issued each statement.

    [DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME PIM_TEST_DB_NAME=test_NAME] \
    .venv/bin/python bench/api_activation_queries.py

Runs against a fresh test database (created and dropped, like the test suite's), SQLite by default.
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
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from api import services as api_services
    from assignments import services
    from assignments.bootstrap import bootstrap_all
    from assignments.models import RoleDefinition, Scope

    bootstrap_all()
    user = services.user_create(username="requester", password="bench-password-123", email="r@example.com",
                                display_name="Requester")
    eligible = services.assignment_create(actor=None, principal=user.principal, role=RoleDefinition.objects.get(
        slug="helpdesk-administrator"), scope=Scope.objects.get(path="/"), kind="eligible", justification="bench")
    _, token = api_services.token_create_personal(actor=user, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    sources = []

    def note(execute, sql, params, many, context):
        sources.append(_source(sql, traceback.extract_stack()[:-1]))
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(note):
        response = client.post("/api/v1/requests/", {
            "action": "self_activate", "assignment": eligible.pk, "duration_minutes": 60,
            "justification": "bench", "ticket_system": "jira", "ticket_number": "OPS-1"}, format="json")
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
    kinds = Counter(q["sql"].split()[0].upper() for q in queries.captured_queries)
    print("  by statement:", ", ".join(f"{kind} {count}" for kind, count in kinds.most_common()))


if __name__ == "__main__":
    main()
