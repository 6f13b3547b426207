"""Benchmark: the check endpoint against a trivial endpoint, under gunicorn, on PostgreSQL with 1,000,000
assignments.

    .venv/bin/python bench/check_endpoint.py [--assignments 1000000] [--seconds 10] [--threads 4]

What it does, in one run:
1. creates the database `pim_bench_api` on the PostgreSQL at $PIM_BENCH_PG (default
   postgres://postgres@127.0.0.1:5432), migrates it and bootstraps the directory;
2. bulk-loads (COPY) 100,000 users, 1,000 groups, 1,000 subscriptions × 10 resource groups and
   1,000,000 assignments (group memberships, eligible and active resource-role assignments,
   permanent, time-bound, scheduled and lapsed ones), then ANALYZE;
3. creates a service principal holding Global Reader and a credential (token) for it;
4. starts gunicorn on 127.0.0.1 on a free port (2 gthread workers × 2 threads, keep-alive);
5. drives GET /api/v1/ping (constant JSON, same token authentication) and
   GET /api/v1/check?principal=…&role=…&scope=… (random users, roles and scopes; about half allowed),
   alternating in one-second slices, each for the same bounded time and count: first with a fixed
   number of client threads (default 4, enough to saturate the server), then with one client
   (latency without queueing behind other clients); each client on one keep-alive http.client
   connection;
6. prints requests/s, p50 and p99 of both (median of the rounds) and the ratio check/ping, against the
   targets (check ≥ 70% of ping's throughput at saturation; check p99 ≤ 10 ms with one client — at
   saturation p99 is queueing time and is printed too);
7. stops gunicorn and drops the database. Only loopback traffic.
"""

import argparse
import http.client
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the project, when run as `python bench/check_endpoint.py`

import scratch_db  # noqa: E402 - beside this file (the bench directory is on the path when a bench runs)

from core.actors import Actor  # noqa: E402

SETUP = Actor.system("bench-setup")
DB_NAME = "pim_bench_api"
BENCH = "check_endpoint"


def set_db(name: str) -> None:
    global DB_NAME
    DB_NAME = name


PG = os.environ.get("PIM_BENCH_PG", "postgres://postgres@127.0.0.1:5432")

N_SUBSCRIPTIONS = 1000
RG_PER_SUBSCRIPTION = 10
N_GROUPS = 1000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def bench_env(var_dir: str) -> dict:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_SECURE_SSL_REDIRECT": "0",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PIM_VAR_DIR": var_dir,
        "PIM_LOG_LEVEL": "WARNING",
        "PIM_API_CHECK_RATE": "100000000/s",
        "PIM_API_WRITE_RATE": "100000000/s",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    })
    return env


# --- Loading --------------------------------------------------------------------------------------


def load(n_assignments: int) -> tuple[str, list[str]]:
    """Migrate, bootstrap, COPY the bulk rows. Returns (bench token, check query strings)."""
    import django
    from django.core.management import call_command

    django.setup()
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0, interactive=False)
    from api import services as api_services
    from assignments import services
    from assignments.bootstrap import bootstrap_all
    from assignments.models import Assignment, Principal, RoleDefinition, Scope, ScopeClosure, User

    bootstrap_all()
    now = timezone.now()
    root = Scope.objects.get(path="/")
    roles = {r.slug: r.pk for r in RoleDefinition.objects.all()}
    resource_roles = [roles[s] for s in ("reader", "contributor", "owner", "user-access-administrator")]
    directory_roles = [roles[s] for s in ("exchange-administrator", "helpdesk-administrator", "user-administrator")]

    raw = connection.connection  # psycopg 3 connection under Django's
    n_users = max(1, n_assignments // 10)
    t0 = time.perf_counter()

    # Scopes: subscriptions under the root, resource groups under them, with their closure rows.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    sub_rows = [(f"/subscriptions/sub{i}", Scope.Kind.SUBSCRIPTION, f"sub{i}", root.pk, now)
                for i in range(N_SUBSCRIPTIONS)]
    _copy(raw, Scope._meta.db_table, ["path", "kind", "display_name", "parent_id", "created_at"], sub_rows)
    sub_ids = dict(Scope.objects.filter(kind=Scope.Kind.SUBSCRIPTION, path__startswith="/subscriptions/sub")
                   .values_list("path", "pk"))
    rg_rows = [(f"/subscriptions/sub{i}/resourceGroups/rg{j}", Scope.Kind.RESOURCE_GROUP, f"rg{j}",
                sub_ids[f"/subscriptions/sub{i}"], now)
               for i in range(N_SUBSCRIPTIONS) for j in range(RG_PER_SUBSCRIPTION)]
    _copy(raw, Scope._meta.db_table, ["path", "kind", "display_name", "parent_id", "created_at"], rg_rows)
    rgs = list(Scope.objects.filter(kind=Scope.Kind.RESOURCE_GROUP, path__startswith="/subscriptions/sub")
               .order_by("pk").values_list("pk", "parent_id", "path"))
    closure = [(s, s, 0) for s in sub_ids.values()] + [(root.pk, s, 1) for s in sub_ids.values()]
    closure += [row for pk, parent, _ in rgs for row in ((pk, pk, 0), (parent, pk, 1), (root.pk, pk, 2))]
    _copy(raw, ScopeClosure._meta.db_table, ["ancestor_id", "descendant_id", "depth"], closure)

    # Groups (principals) and their scopes.
    group_rows = [(uuid.uuid4(), Principal.Kind.GROUP, f"bench group {i}", "", "", True, False, now)
                  for i in range(N_GROUPS)]
    _copy(raw, Principal._meta.db_table, ["object_id", "kind", "display_name", "email", "description", "enabled",
                                          "role_assignable", "created_at"], group_rows)
    groups = list(Principal.objects.filter(kind=Principal.Kind.GROUP, display_name__startswith="bench group ")
                  .order_by("pk").values_list("pk", "object_id"))
    _copy(raw, Scope._meta.db_table, ["path", "kind", "display_name", "parent_id", "group_id", "created_at"],
          [(f"/groups/{oid}", Scope.Kind.GROUP, f"group {pk}", root.pk, pk, now) for pk, oid in groups])
    group_scopes = list(Scope.objects.filter(kind=Scope.Kind.GROUP, group_id__in=[g[0] for g in groups])
                        .order_by("group_id").values_list("pk", flat=True))
    _copy(raw, ScopeClosure._meta.db_table, ["ancestor_id", "descendant_id", "depth"],
          [row for pk in group_scopes for row in ((pk, pk, 0), (root.pk, pk, 1))])
    log(f"scopes and groups loaded ({len(rgs) + len(sub_ids) + len(group_scopes)} scopes)")

    # Users and their principals.
    _copy(raw, User._meta.db_table,
          ["password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
           "date_joined", "display_name", "is_emergency_access"],
          ((f"!{i}", False, f"bench{i}", "", "", "", False, True, now, f"Bench user {i}", False)
           for i in range(n_users)))
    user_ids = list(User.objects.filter(username__startswith="bench").order_by("pk").values_list("pk", flat=True))
    _copy(raw, Principal._meta.db_table, ["object_id", "kind", "display_name", "email", "description", "enabled",
                                          "user_id", "role_assignable", "created_at"],
          ((uuid.uuid4(), Principal.Kind.USER, f"Bench user {i}", "", "", True, uid, False, now)
           for i, uid in enumerate(user_ids)))
    principals = list(Principal.objects.filter(user_id__in=user_ids).order_by("user_id").values_list("pk", flat=True))
    log(f"{len(principals)} users loaded ({time.perf_counter() - t0:.0f} s)")

    # Assignments: per user one group membership and nine resource or directory assignments.
    member_role = roles["group-member"]
    held_examples: list[tuple[int, int, str]] = []
    rng = random.Random(42)

    def assignments():
        count = 0
        for i, pid in enumerate(principals):
            if count >= n_assignments:
                return
            yield (pid, member_role, group_scopes[i % len(group_scopes)], "active", "live", now - timedelta(days=30),
                   None, "pim", now - timedelta(days=30), "", "", "", "")
            count += 1
            for j in range(9):
                if count >= n_assignments:
                    return
                kind = "active" if j % 3 == 0 else "eligible"
                if j == 8 and i % 50 == 0:
                    role, scope_id, path = directory_roles[i % 3], root.pk, "/"
                else:
                    rg = rgs[(i * 7 + j * 1301) % len(rgs)]
                    role, scope_id, path = resource_roles[j % 4], rg[0], rg[2]
                shape = (i + j) % 5
                start = now - timedelta(days=10)
                end = None if shape == 0 else now + timedelta(days=shape * 7)
                if shape == 4:
                    start, end = now + timedelta(days=1), now + timedelta(days=2)  # scheduled
                if shape == 3 and j % 2:
                    end = now - timedelta(days=1)  # lapsed, not swept yet
                if kind == "active" and shape in (0, 1, 2) and rng.random() < 0.05:
                    held_examples.append((pid, role, path))
                yield (pid, role, scope_id, kind, "live", start, end, "pim", start, "", "", "", "")
                count += 1

    _copy(raw, Assignment._meta.db_table,
          ["principal_id", "role_id", "scope_id", "kind", "status", "start_at", "end_at", "origin", "created_at",
           "justification", "ticket_system", "ticket_number", "end_reason"],
          assignments())
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Assignment._meta.db_table}")
        cursor.execute(f"ANALYZE {Principal._meta.db_table}")
        cursor.execute(f"ANALYZE {Scope._meta.db_table}")
        cursor.execute(f"ANALYZE {ScopeClosure._meta.db_table}")
        cursor.execute(f"SELECT count(*) FROM {Assignment._meta.db_table}")
        total = cursor.fetchone()[0]
    log(f"{total} assignments in the database ({time.perf_counter() - t0:.0f} s)")

    # The caller: a service principal with Global Reader (time-bound) and a credential.
    caller = services.service_principal_create(display_name="bench-client", actor=SETUP)
    services.assignment_create(actor=SETUP, principal=caller, role=RoleDefinition.objects.get(slug="global-reader"),
                               scope=root, kind="active", end_at=now + timedelta(days=1), justification="bench")
    issuer = User.objects.get(username="breakglass1")
    _, token = api_services.token_create_for_service_principal(actor=issuer, service_principal=caller,
                                                               name="bench")

    slugs = {pk: slug for slug, pk in roles.items()}
    queries = []
    for _ in range(20000):
        if held_examples and rng.random() < 0.5:
            pid, role, scope = rng.choice(held_examples)
        else:
            pid = rng.choice(principals)
            role = rng.choice(resource_roles)
            rg = rng.choice(rgs)
            scope = rg[2]
        queries.append(f"/api/v1/check?principal={pid}&role={slugs[role]}&scope={scope}")
    connection.close()
    return token, queries


def _copy(raw, table: str, columns: list[str], rows) -> None:
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    raw.commit()


# --- Driving --------------------------------------------------------------------------------------


def drive(port: int, token: str, paths: list[str], *, threads: int, seconds: float, max_requests: int,
          expect_allowed: bool | None = None) -> dict:
    """Bounded load: `threads` clients, each one keep-alive connection, until `seconds` or `max_requests`."""
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(threads)]
    errors = [0] * threads
    allowed = [0] * threads
    budget = [max_requests // threads] * threads

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        headers = {"Authorization": f"Bearer {token}", "Connection": "keep-alive"}
        rng = random.Random(index)
        mine = latencies[index]
        while budget[index] > 0 and time.perf_counter() < deadline:
            path = paths[rng.randrange(len(paths))]
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - started)
            budget[index] -= 1
            if response.status != 200:
                errors[index] += 1
            elif b'"allowed":true' in body:
                allowed[index] += 1
        conn.close()

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return _summarise([x for chunk in latencies for x in chunk], elapsed, sum(errors), sum(allowed))


def _summarise(latencies: list[float], elapsed: float, errors: int, allowed: int) -> dict:
    flat = sorted(latencies)
    n = len(flat)
    return {
        "requests": n,
        "rps": n / elapsed if elapsed else 0.0,
        "p50_ms": flat[n // 2] * 1000 if n else float("nan"),
        "p99_ms": flat[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
        "errors": errors,
        "allowed": allowed,
        "elapsed": elapsed,
        "latencies": flat,
    }


def drive_interleaved(port: int, token: str, endpoints: dict[str, list[str]], *, threads: int, seconds: float,
                      slice_seconds: float, max_requests: int) -> dict[str, dict]:
    """Alternate the endpoints in short slices until each has run `seconds`: background load on a shared
    machine drifts, and interleaving makes both endpoints see the same drift."""
    parts: dict[str, list[dict]] = {name: [] for name in endpoints}
    done = 0.0
    while done < seconds:
        step = min(slice_seconds, seconds - done)
        for name, paths in endpoints.items():
            parts[name].append(drive(port, token, paths, threads=threads, seconds=step,
                                     max_requests=max(threads, int(max_requests * step / seconds))))
        done += step
    return {name: _summarise([x for p in results for x in p["latencies"]], sum(p["elapsed"] for p in results),
                             sum(p["errors"] for p in results), sum(p["allowed"] for p in results))
            for name, results in parts.items()}


def wait_ready(port: int, token: str, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/ping", headers={"Authorization": f"Bearer {token}"})
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer in time")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=10.0, help="per round and endpoint")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-seconds", type=float, default=5.0, help="per round and endpoint, 1 client")
    parser.add_argument("--slice-seconds", type=float, default=1.0, help="endpoints alternate in slices this long")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--max-requests", type=int, default=200_000, help="per round and endpoint")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--worker-threads", type=int, default=2, help="gunicorn threads per worker")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", DB_NAME), help="scratch database name")
    args = parser.parse_args()
    set_db(args.db)

    var_dir = tempfile.mkdtemp(prefix="pim-bench-")
    env = bench_env(var_dir)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    sys.path.insert(0, str(ROOT))
    try:
        # A database this bench left earlier (--keep-db) is made again; any other is refused, never dropped.
        scratch_db.create(DB_NAME, bench=BENCH, replace=True)
    except scratch_db.NotOurs as error:
        sys.exit(str(error))
    server = None
    try:
        log(f"loading {args.assignments} assignments into {DB_NAME} ...")
        token, checks = load(args.assignments)
        port = free_port()
        server = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "pim_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.worker_threads),
             "--keep-alive", "30", "--log-level", "warning"],
            cwd=ROOT, env=env)
        wait_ready(port, token)
        log(f"gunicorn on 127.0.0.1:{port} ({args.workers} workers × {args.worker_threads} threads); "
            f"{args.threads} client threads, {args.rounds} rounds × {args.seconds:.0f} s per endpoint")
        ping = ["/api/v1/ping"]
        # Warm up both (connections, caches), then alternate the endpoints so drift hits both alike.
        drive(port, token, ping, threads=args.threads, seconds=2, max_requests=5000)
        drive(port, token, checks, threads=args.threads, seconds=2, max_requests=5000)
        rounds: dict[str, list[dict]] = {}
        endpoints = {"ping": ping, "check": checks}
        for label, threads, seconds in ((f"{args.threads} clients", args.threads, args.seconds),
                                        ("1 client", 1, args.latency_seconds)):
            for index in range(args.rounds):
                results = drive_interleaved(port, token, endpoints, threads=threads, seconds=seconds,
                                            slice_seconds=args.slice_seconds, max_requests=args.max_requests)
                for name, result in results.items():
                    key = name if threads == args.threads else f"{name} (1 client)"
                    rounds.setdefault(key, []).append(result)
                    log(f"round {index + 1} {name:5} {label:>10}: {result['rps']:7.0f} req/s  "
                        f"p50 {result['p50_ms']:.2f} ms  p99 {result['p99_ms']:.2f} ms  ({result['requests']} "
                        f"requests, {result['errors']} errors"
                        + (f", {result['allowed']} allowed" if name == "check" else "") + ")")
        summary = {name: {key: statistics.median(r[key] for r in results)
                          for key in ("rps", "p50_ms", "p99_ms")} for name, results in rounds.items()}
        ratio = summary["check"]["rps"] / summary["ping"]["rps"]
        light_p99 = summary["check (1 client)"]["p99_ms"]
        errors = sum(r["errors"] for results in rounds.values() for r in results)
        print()
        print(f"{'endpoint':18} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}   (medians of {args.rounds} rounds; "
              f"{args.threads} clients, then 1 client)")
        for name, row in summary.items():
            print(f"{name:18} {row['rps']:8.0f} {row['p50_ms']:8.2f} {row['p99_ms']:8.2f}")
        print(f"ratio check/ping throughput ({args.threads} clients): {ratio:.2f}   "
              f"(target ≥ 0.70: {'met' if ratio >= 0.7 else 'NOT met'})")
        print(f"check p99, 1 client: {light_p99:.2f} ms (target ≤ 10 ms: {'met' if light_p99 <= 10 else 'NOT met'}); "
              f"at saturation ({args.threads} clients): {summary['check']['p99_ms']:.2f} ms;  errors: {errors}")
        print(json.dumps({"summary": summary, "ratio": ratio, "errors": errors,
                          "assignments": args.assignments, "at": datetime.now(UTC).isoformat()}))
        return 0 if errors == 0 else 1
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before dropping
            pass
        if not args.keep_db and scratch_db.drop(DB_NAME, bench=BENCH):
            log(f"dropped {DB_NAME}")


if __name__ == "__main__":
    sys.exit(main())
