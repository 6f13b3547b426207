"""The bulk import at size: a file of `--users` users, `--groups` groups with `--members` memberships each,
`--subscriptions` subscriptions with a resource group each and an eligible assignment per user; the dry run,
the apply, the second apply (no change) and the export, in seconds and rows per second, with the ratio
against a baseline measured in the same run: the same users created by calling `user_create` directly
(what the import adds on top of the plain service calls: parsing, savepoints, comparisons).

    [DATABASE_URL=postgres://postgres@127.0.0.1:5432/NAME PIM_TEST_DB_NAME=test_NAME] \
    .venv/bin/python bench/bulk_import.py [--users 2000] [--groups 50] [--members 20] [--subscriptions 20]

Runs against a fresh test database that it creates and drops (like the test suite), SQLite by default;
it never drops a database it did not create.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--subscriptions", type=int, default=20)
    options = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import get_runner, setup_test_environment

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    setup_test_environment()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()  # a test database of its own, dropped below
    try:
        run(options)
    finally:
        runner.teardown_databases(old_config)


def document(options, prefix: str) -> dict:
    subs = [f"/subscriptions/{prefix}-sub-{n}" for n in range(options.subscriptions)]
    users = [f"{prefix}-user-{n}" for n in range(options.users)]
    return {
        "scopes": [{"path": path, "kind": "subscription", "display_name": path.rsplit("/", 1)[1]} for path in subs]
        + [{"path": f"{path}/resourceGroups/rg", "kind": "resource_group"} for path in subs],
        "users": [{"username": u, "display_name": u.title(), "email": f"{u}@example.com"} for u in users],
        "groups": [{"display_name": f"{prefix} group {g}",
                    "members": [users[(g * options.members + m) % len(users)] for m in range(options.members)]}
                   for g in range(options.groups)],
        "assignments": [{"principal": u, "role": "reader", "scope": f"{subs[n % len(subs)]}/resourceGroups/rg",
                         "kind": "eligible"} for n, u in enumerate(users)],
    }


def run(options) -> None:
    from django.db import connection, transaction

    from assignments import services
    from assignments.bootstrap import bootstrap_all
    from core.actors import Actor
    from directory.bulk_import import export_bytes, import_run

    bootstrap_all()
    actor = Actor.system("bench-bulk-import")
    print(f"database: {connection.vendor}; {options.users} users, {options.groups} groups x {options.members} "
          f"members, {options.subscriptions} subscriptions (+1 resource group each), {options.users} assignments")

    # Baseline: the same number of users through the service directly, in one transaction (rolled back).
    started = time.perf_counter()
    with transaction.atomic():
        for n in range(options.users):
            services.user_create(username=f"base-{n}", email=f"base-{n}@example.com", display_name=f"Base {n}",
                                 actor=actor)
        transaction.set_rollback(True)
    baseline = time.perf_counter() - started
    print(f"baseline  user_create x {options.users}: {baseline:8.2f} s  ({options.users / baseline:8.0f} users/s)")

    data = json.dumps(document(options, "bench")).encode()
    rows = options.subscriptions * 2 + options.users * 2 + options.groups

    def timed(label, call):
        started = time.perf_counter()
        report = call()
        elapsed = time.perf_counter() - started
        summary = report.summary if hasattr(report, "summary") else f"{len(report)} bytes"
        print(f"{label:<10}{elapsed:8.2f} s  ({rows / elapsed:8.0f} rows/s)  {summary}")
        return elapsed, report

    dry, report = timed("dry run", lambda: import_run(data=data, fmt="json", actor=actor, apply=False))
    assert not report.errors, report.errors[:3]
    applied, _ = timed("apply", lambda: import_run(data=data, fmt="json", actor=actor, apply=True))
    again, report = timed("again", lambda: import_run(data=data, fmt="json", actor=actor, apply=True))
    assert report.created == report.changed == 0
    exported, blob = timed("export", lambda: export_bytes(actor=actor, fmt="csv"))
    back, report = timed("re-import", lambda: import_run(data=blob, fmt="csv", actor=actor, apply=True))
    assert report.created == report.changed == 0 and not report.errors
    user_rows = options.users
    print(f"ratio: apply {applied / baseline:.2f}x the baseline for {user_rows} users plus "
          f"{rows - user_rows} other rows; a no-change apply {again / applied:.2f}x the first apply")


if __name__ == "__main__":
    main()
