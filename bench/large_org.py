"""Benchmark: the large-organisation profile — every main page and API list, first and deep page.

    .venv/bin/python bench/large_org.py [--db NAME] [--keep-db | --reuse-db] [--assignments 1000000]
        [--events 10000000] [--pending 5000] [--repeat 5] [--deep-page 1000]

Builds (once; `--reuse-db` uses a database an earlier `--keep-db` run left, and never rebuilds it) on the
PostgreSQL of $PIM_BENCH_PG (default postgres://postgres@127.0.0.1:5432):
- the 1,000,000-assignment organisation of bench/check_endpoint.py: 100,000 users, 1,000 groups,
  11,000 scopes, ten assignments per user;
- `--events` audit events with a valid hash chain (bench/audit_export.py's generator, COPY);
- `--pending` pending self-activation requests: all but 10 are resource-role activations decided by the
  resource's Owners; 10 are Exchange Administrator activations whose policy names the bench approver.

Then, in this process (Django's test client, the real views, `force_login`), for personas — an Owner at
`/`, a Global Administrator, a Global Reader, the approver (who may decide exactly 10 requests) — it
measures each main page and each API list: the first page and a deep page (`--deep-page`, followed
through the page's own "next" links or cursors where the list is keyset-paginated, else `?page=N`), the
median time of `--repeat` runs and the query count. The baseline measured in the same run is the same
list's first page with the old code path where one is kept callable (`--baseline`), see the notes printed.

The database is created by this bench and dropped at the end, unless `--keep-db`/`--reuse-db`; a database
this bench did not create (no marker table `bench_large_org_marker`) is never dropped nor reloaded.
"""

import argparse
import os
import random
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import check_endpoint  # noqa: E402 - the shared 1 M-assignment loader
import scratch_db  # noqa: E402 - beside this file

PG = os.environ.get("PIM_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
MARKER = "bench_large_org_marker"
APPROVER = "bench-approver"
DECIDABLE = 10
log = check_endpoint.log


def server_sql(sql: str, params=None):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        return conn.execute(sql, params).fetchall() if sql.lstrip().upper().startswith("SELECT") else \
            conn.execute(sql, params)


BENCH = "large_org"


def db_exists(name: str) -> bool:
    return scratch_db.exists(name)


def made_by_this_bench(name: str) -> bool:
    """Only a database holding this bench's marker may be dropped or reused. (The first builds used
    a table of their own, `bench_large_org_marker`: still recognised.)"""
    if scratch_db.made_by(name, BENCH):
        return True
    import psycopg

    try:
        with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
            return conn.execute("SELECT to_regclass(%s) IS NOT NULL", [MARKER]).fetchone()[0]
    except psycopg.OperationalError:
        return False


def drop_ours(name: str) -> None:
    if db_exists(name) and made_by_this_bench(name):
        server_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped {name}")


# --- Building --------------------------------------------------------------------------------------


def build(args) -> None:
    from django.db import connection

    started = time.monotonic()
    check_endpoint.load(args.assignments)
    connection.close()
    log(f"organisation loaded ({time.monotonic() - started:.0f} s)")
    build_pending(args.pending)
    log(f"{args.pending} pending requests ({time.monotonic() - started:.0f} s)")
    build_events(args.events)
    log(f"built in {time.monotonic() - started:.0f} s")


def build_events(count: int) -> None:
    import audit_export
    from django.db import connection

    done = 0
    chunk = 1_000_000
    t0 = time.monotonic()
    while done < count:
        n = min(chunk, count - done)
        audit_export.load(n, min(n, 100_000))
        done += n
        log(f"{done:,} audit events ({done / (time.monotonic() - t0):,.0f}/s)")
    connection.close()


def build_pending(count: int) -> None:
    """`count` pending self-activations; `DECIDABLE` of them are the approver's to decide."""
    from django.db import connection
    from django.utils import timezone

    from assignments import services
    from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, User
    from core.actors import Actor

    actor = Actor.system("bench-setup")
    now = timezone.now()
    root = Scope.objects.get(path="/")
    approver = services.user_create(actor=actor, username=APPROVER, email=f"{APPROVER}@bench.example",
                                    display_name="Bench Approver")
    exchange = RoleDefinition.objects.get(slug="exchange-administrator")
    setting, _ = RoleSetting.objects.get_or_create(role=exchange, scope=root)
    RoleSetting.objects.filter(pk=setting.pk).update(require_approval=True)
    setting.approvers.set([approver.principal])
    rng = random.Random(7)
    mine = list(Assignment.objects.filter(role=exchange, scope=root, kind="eligible", status="live",
                                          principal__kind="user").values_list("pk", "principal_id")[:DECIDABLE])
    resource_roles = list(RoleDefinition.objects.filter(slug__in=["reader", "contributor"]).values_list("pk",
                                                                                                     flat=True))
    others = list(Assignment.objects.filter(role_id__in=resource_roles, kind="eligible", status="live",
                                            principal__kind="user").values_list("pk", "principal_id")
                  [:(count - DECIDABLE) * 3])
    others = rng.sample(others, count - DECIDABLE)
    chosen = mine + others
    details = {pk: (role, scope) for pk, role, scope in Assignment.objects.filter(
        pk__in=[a for a, _ in chosen]).values_list("pk", "role_id", "scope_id")}
    users = dict(Principal.objects.filter(pk__in={p for _, p in chosen}).values_list("pk", "user_id"))
    assert all(users.values()), "every requester is a user"
    del User
    rows = []
    for i, (assignment_id, principal_id) in enumerate(chosen):
        role_id, scope_id = details[assignment_id]
        created = now - timedelta(minutes=count - i)
        rows.append((uuid.uuid4(), "self_activate", "pending_approval", users[principal_id], principal_id, role_id,
                     scope_id, "", assignment_id, 60, "bench: needs access", "", "", 1,
                     now + timedelta(days=30), "", created, created))  # a window the reused database outlives
    check_endpoint._copy(connection.connection, "approvals_request",
                         ["id", "action", "status", "requested_by_id", "principal_id", "role_id", "scope_id", "kind",
                          "eligible_assignment_id", "duration_minutes", "justification", "ticket_system",
                          "ticket_number", "approvals_required", "approval_deadline", "status_message", "created_at",
                          "updated_at"], rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE approvals_request")
    connection.close()


# --- Measuring -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", "pim_bench_large_org"),
                        help="scratch database name")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--reuse-db", action="store_true",
                        help="use the database a --keep-db run of this bench left; implies --keep-db")
    parser.add_argument("--build-only", action="store_true", help="build (or check) the database and stop")
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--pending", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--deep-page", type=int, default=1000)
    parser.add_argument("--only", default="",
                        help="comma-separated parts of list labels to measure (default: every list), e.g. "
                             "'Approvals queue,api: approvals'")
    parser.add_argument("--baseline-repeat", type=int, default=1,
                        help="runs of the old Assignments query (tens of seconds each at 1 M)")
    args = parser.parse_args()
    keep = args.keep_db or args.reuse_db
    exists = db_exists(args.db)
    if exists and not made_by_this_bench(args.db):
        print(f"{args.db} exists and was not made by this bench: choose another --db", file=sys.stderr)
        return 2
    if exists and not args.reuse_db:
        print(f"{args.db} exists (made by an earlier run): pass --reuse-db to use it, or drop it", file=sys.stderr)
        return 2
    check_endpoint.DB_NAME = args.db
    var_dir = tempfile.mkdtemp(prefix="pim-bench-org-")
    os.environ.update(check_endpoint.bench_env(var_dir))
    os.environ["DATABASE_URL"] = f"{PG}/{args.db}"
    os.environ["DJANGO_DEBUG"] = "0"
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"  # the in-process test client
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    created = False
    try:
        import django

        if not exists:
            scratch_db.create(args.db, bench=BENCH)
            created = True
            django.setup()
            build(args)
        else:
            django.setup()
            from django.core.management import call_command

            call_command("migrate", verbosity=0, interactive=False)
        if args.build_only:
            return 0
        from django.core.management import call_command

        # DEBUG off serves static files through the manifest storage: collect them (into the temp dir).
        call_command("collectstatic", interactive=False, verbosity=0)
        import large_org_measure

        return large_org_measure.run(args)
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before dropping
            pass
        if created and not keep:
            drop_ours(args.db)


if __name__ == "__main__":
    sys.exit(main())
