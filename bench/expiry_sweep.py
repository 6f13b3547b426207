"""Benchmark: the set-based expiry sweep against a row-by-row ORM loop, on PostgreSQL.

    .venv/bin/python bench/expiry_sweep.py [--total 1000000] [--due 100000] [--baseline 10000] [--keep]

Creates the database `pim_bench_jobs` (psql -h 127.0.0.1 -U postgres), migrates it, bootstraps the
directory, bulk-loads users, principals and assignments with COPY (by default 100,000 users holding
10 roles each: 1,000,000 assignments, of which 100,000 have ended), then
1. runs `assignments.sweeps.assignments_expire` over the due rows (audit event + domain event +
   queued emails per row, exactly what production does) in `--workers` processes at once (default
   `PIM_SWEEP_WORKERS`: the worker pool running the beat's expiry task and its helpers), and prints
   time, rows/s and peak memory;
2. restores 10,000 different due rows and expires them with a naive row-by-row ORM loop (lock, save,
   audit, emit) and prints the same;
3. prints the per-row ratio, and drops the database (unless --keep).

After loading, the bench runs VACUUM (ANALYZE) and a CHECKPOINT, so both phases run against the steady
state of a production database rather than competing with autovacuum over the freshly loaded rows.

Peak memory: the RSS high-water mark (VmHWM in /proc/self/status) is reset before each phase
(`echo 5 > /proc/self/clear_refs`) and reported as the growth over the RSS at the phase start.
"""

import argparse
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the project, when run as `python bench/expiry_sweep.py`
sys.path.insert(0, str(ROOT / "bench"))

import scratch_db  # noqa: E402 - beside this file

from core.actors import Actor  # noqa: E402

SETUP = Actor.system("bench-setup")

DB_NAME = "pim_bench_jobs"
BENCH = "expiry_sweep"


def set_db(name: str) -> None:
    global DB_NAME
    DB_NAME = name


PSQL = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-q"]


def psql(sql: str, db: str = "postgres") -> None:
    subprocess.run([*PSQL, "-d", db, "-c", sql], check=True)


def memory() -> dict:
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0])  # kB
    return values


def reset_peak() -> int:
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    return memory()["VmRSS"]


def peak_growth_mb(rss_at_start: int) -> float:
    return (memory()["VmHWM"] - rss_at_start) / 1024


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    """Stream rows into COPY in chunks (bounded memory while loading)."""
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load(*, users: int, roles_per_user: int, due: int, now: datetime) -> None:
    from django.db import connection

    from assignments.models import Assignment, Principal, RoleDefinition, Scope, User

    root = Scope.objects.get(path="/")
    role_slugs = ["helpdesk-administrator", "exchange-administrator", "sharepoint-administrator",
                  "billing-administrator", "security-reader", "global-reader", "security-administrator",
                  "user-access-administrator", "owner", "contributor", "reader"]
    roles = list(RoleDefinition.objects.filter(slug__in=role_slugs).values_list("pk", flat=True))[:roles_per_user]
    assert len(roles) == roles_per_user, f"only {len(roles)} roles available"
    total = users * roles_per_user
    every = total // due
    raw = connection.connection
    with raw.cursor() as cursor:
        started = time.monotonic()
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {User._meta.db_table}")
        first_user = cursor.fetchone()[0] + 1
        copy_rows(cursor, User._meta.db_table,
                  ["id", "password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff",
                   "is_active", "date_joined", "display_name", "is_emergency_access"],
                  ((first_user + i, "!", False, f"bench{i}", "", "", f"bench{i}@example.com", False, True, now,
                    f"Bench user {i}", False) for i in range(users)))
        cursor.execute(f"SELECT coalesce(max(id), 0) FROM {Principal._meta.db_table}")
        first_principal = cursor.fetchone()[0] + 1
        copy_rows(cursor, Principal._meta.db_table,
                  ["id", "object_id", "kind", "display_name", "email", "description", "enabled", "user_id",
                   "role_assignable", "created_at"],
                  ((first_principal + i, uuid.uuid4(), "user", f"Bench user {i}", f"bench{i}@example.com", "", True,
                    first_user + i, False, now) for i in range(users)))
        created = now - timedelta(days=200)

        def assignments():
            n = 0
            for i in range(users):
                for role in roles:
                    is_due = n % every == 0 and n // every < due
                    end = now - timedelta(minutes=1 + n % 600) if is_due else (
                        None if n % 3 == 0 else now + timedelta(days=30 + n % 300))
                    yield (first_principal + i, role, root.pk, "eligible", "live", created, end, "bench", "", "",
                           "pim", created, "")
                    n += 1

        copy_rows(cursor, Assignment._meta.db_table,
                  ["principal_id", "role_id", "scope_id", "kind", "status", "start_at", "end_at", "justification",
                   "ticket_system", "ticket_number", "origin", "created_at", "end_reason"], assignments())
        for table in (User._meta.db_table, Principal._meta.db_table, Assignment._meta.db_table):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        cursor.execute(f"ANALYZE {Assignment._meta.db_table}")
        cursor.execute(f"ANALYZE {User._meta.db_table}")
        cursor.execute(f"ANALYZE {Principal._meta.db_table}")
    raw.commit()
    print(f"loaded {users:,} users and {total:,} assignments ({due:,} due) with COPY in "
          f"{time.monotonic() - started:.1f} s")


def time_subscribers(spent: dict[str, float]) -> None:
    """Wrap each domain-event subscriber (other apps subscribe too: webhooks/SCIM) to add up its time
    in `spent`, so the sweep's own cost and theirs can be told apart."""
    from core import domain_events

    def timed(fn):
        label = f"{fn.__module__}.{fn.__name__}"

        def wrapper(**kwargs):
            t0 = time.perf_counter()
            try:
                return fn(**kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0
        return wrapper

    wrapped = {fn: timed(fn) for fn in domain_events._subscribers}
    domain_events._batch_handlers.update({wrapped[fn]: timed(many)
                                          for fn, many in domain_events._batch_handlers.items()})
    domain_events._subscribers[:] = list(wrapped.values())


def sweep_worker(now: datetime, batch_size: int, start, results) -> None:
    """One worker process, as the Celery pool runs `assignments.tasks.assignments_expire` and its
    helpers: set up Django, wait for the others, then take batches until none is left."""
    import django

    django.setup()
    from django.db import connection

    from assignments import sweeps

    spent: dict[str, float] = {}
    time_subscribers(spent)
    connection.ensure_connection()
    start.wait()
    rss = reset_peak()
    result = sweeps.assignments_expire(now=now, batch_size=batch_size)
    results.put((result.processed, result.batches, peak_growth_mb(rss), spent))
    connection.close()


def sweep_in_processes(*, now: datetime, batch_size: int, workers: int) -> dict:
    """Run the sweep in `workers` processes at once; time it from their common start to the last one's
    end (Django's start-up is not part of it: production workers are running already)."""
    context = multiprocessing.get_context("spawn")
    start, results = context.Barrier(workers + 1), context.Queue()
    processes = [context.Process(target=sweep_worker, args=(now, batch_size, start, results))
                 for _ in range(workers)]
    for process in processes:
        process.start()
    start.wait(timeout=120)
    started = time.monotonic()
    done = [results.get(timeout=3600) for _ in processes]
    seconds = time.monotonic() - started
    for process in processes:
        process.join(timeout=60)
    spent: dict[str, float] = {}
    for *_, part in done:
        for label, value in part.items():
            spent[label] = spent.get(label, 0.0) + value
    return {"seconds": seconds, "processed": sum(d[0] for d in done), "batches": sum(d[1] for d in done),
            "peak_mb": max(d[2] for d in done), "shares": [d[0] for d in done], "spent": spent}


def naive_expire(*, now: datetime, limit: int) -> int:
    """The row-by-row ORM loop: what one would write without thinking about sets."""
    from django.db import transaction

    from assignments.models import Assignment
    from audit.services import audit_event_record
    from core import domain_events

    done = 0
    for pk in list(Assignment.objects.filter(status="live", end_at__lte=now).order_by("pk")
                   .values_list("pk", flat=True)[:limit]):
        with transaction.atomic():
            assignment = Assignment.objects.select_for_update().select_related("principal", "role", "scope").get(pk=pk)
            if assignment.status != "live":
                continue
            assignment.status, assignment.end_reason, assignment.ended_at = "ended", "expired", assignment.end_at
            assignment.save()
            audit_event_record(action="assignment.expire", target=assignment, principal=assignment.principal,
                               role=assignment.role, scope=assignment.scope, after={"end_at": assignment.end_at})
            domain_events.emit("assignment.expired", assignment=assignment)
            done += 1
    return done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--roles-per-user", type=int, default=10)
    parser.add_argument("--due", type=int, default=100_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=None,
                        help="sweep worker processes (default: settings.PIM_SWEEP_WORKERS)")
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", DB_NAME), help="scratch database name")
    parser.add_argument("--keep", "--keep-db", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    set_db(args.db)
    try:
        # A database this bench left earlier (--keep) is made again; any other is refused, never dropped.
        scratch_db.create(DB_NAME, bench=BENCH, replace=True)
    except scratch_db.NotOurs as error:
        sys.exit(str(error))
    os.environ["DATABASE_URL"] = f"{scratch_db.PG}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    os.environ["PIM_LOG_LEVEL"] = "WARNING"
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection

        from assignments import services
        from assignments.bootstrap import bootstrap_all
        from assignments.models import Assignment, RoleDefinition
        from assignments.selectors import scope_root
        from audit.models import AuditEvent
        from notifications.models import OutboxMessage

        call_command("migrate", verbosity=0)
        bootstrap_all()
        # One Privileged Role Administrator: each expiry mails the assignee and the role's admin.
        admin = services.user_create(username="bench-admin", email="bench-admin@example.com", actor=SETUP)
        services.assignment_create(actor=SETUP, principal=admin.principal, kind="active", scope=scope_root(),
                                   justification="bench",
                                   role=RoleDefinition.objects.get(slug="privileged-role-administrator"))
        now = datetime.now(UTC)
        # `due` rows for the sweep plus `baseline` more for the row-by-row loop.
        load(users=args.users, roles_per_user=args.roles_per_user, due=args.due + args.baseline, now=now)
        # Keep `baseline` due rows aside for the baseline: move their end into the future for now.
        baseline_ids = list(Assignment.objects.filter(status="live", end_at__lte=now).order_by("-pk")
                            .values_list("pk", flat=True)[:args.baseline])
        ends = dict(Assignment.objects.filter(pk__in=baseline_ids).values_list("pk", "end_at"))
        Assignment.objects.filter(pk__in=baseline_ids).update(end_at=now + timedelta(days=1000))
        due = Assignment.objects.filter(status="live", end_at__lte=now).count()
        audit_before, outbox_before = AuditEvent.objects.count(), OutboxMessage.objects.count()
        connection.close()
        # Measure the steady state a production database is in, not the aftermath of loading a million
        # rows: otherwise autovacuum starts on the freshly loaded tables during the timed sweep (it did,
        # competing for the 2 cores) and the sweep's first reads set hint bits on every page it visits.
        psql("VACUUM (ANALYZE)", db=DB_NAME)
        psql("CHECKPOINT", db=DB_NAME)

        # --- the sweep, in worker processes
        workers = args.workers if args.workers is not None else settings.PIM_SWEEP_WORKERS
        sweep = sweep_in_processes(now=now, batch_size=args.batch_size, workers=workers)
        sweep_seconds = sweep["seconds"]
        audits = AuditEvent.objects.count() - audit_before
        emails = OutboxMessage.objects.count() - outbox_before
        assert sweep["processed"] == due, (sweep["processed"], due)
        assert audits == due, (audits, due)
        sweep_rate = sweep["processed"] / sweep_seconds
        print(f"sweep:    {sweep['processed']:,} expired in {sweep_seconds:.2f} s = {sweep_rate:,.0f} rows/s "
              f"({sweep['batches']} batches of {args.batch_size}, {workers} worker processes taking "
              f"{' + '.join(f'{n:,}' for n in sweep['shares'])}); {audits:,} audit events, {emails:,} emails "
              f"queued; peak RSS growth {sweep['peak_mb']:.1f} MB per process")
        for label, seconds in sorted(sweep["spent"].items(), key=lambda kv: -kv[1]):
            print(f"          of which in subscriber {label}: {seconds:.2f} s (all processes)")
        spent: dict[str, float] = {}
        time_subscribers(spent)

        # --- the baseline on other rows
        with connection.cursor() as cursor:
            cursor.execute("CREATE TEMP TABLE bench_ends (id bigint primary key, end_at timestamptz)")
            with connection.connection.cursor().copy("COPY bench_ends (id, end_at) FROM STDIN") as copy:
                for pk, end in ends.items():
                    copy.write_row((pk, end))
            cursor.execute(f"UPDATE {Assignment._meta.db_table} a SET end_at = b.end_at FROM bench_ends b "
                           f"WHERE a.id = b.id")
        rss = reset_peak()
        started = time.monotonic()
        naive = naive_expire(now=now, limit=args.baseline)
        naive_seconds = time.monotonic() - started
        naive_peak = peak_growth_mb(rss)
        naive_rate = naive / naive_seconds
        print(f"baseline: {naive:,} expired row by row in {naive_seconds:.2f} s = {naive_rate:,.0f} rows/s; "
              f"peak RSS growth {naive_peak:.1f} MB")
        for label, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
            print(f"          of which in subscriber {label}: {seconds:.2f} s")
        print(f"ratio:    {sweep_rate / naive_rate:.1f}x per row (target >= 50x); sweep of {sweep['processed']:,} in "
              f"{sweep_seconds:.2f} s (target <= 10 s)")
        connection.close()
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            if scratch_db.drop(DB_NAME, bench=BENCH):
                print(f"dropped {DB_NAME}")


if __name__ == "__main__":
    main()
