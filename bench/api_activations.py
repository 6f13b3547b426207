"""Benchmark: self-activations through the API under gunicorn, at 1, 4 and 8 clients, on PostgreSQL with
1,000,000 assignments, a real Celery worker on Redis and an SMTP sink.

    .venv/bin/python bench/api_activations.py [--assignments 1000000] [--seconds 8] [--rounds 3]
        [--db NAME] [--keep-db] [--reuse-db]

What it does, in one run:
1. creates the database `--db` (default $PIM_BENCH_DB or `pim_bench_activations`) on the PostgreSQL at
   $PIM_BENCH_PG (default postgres://postgres@127.0.0.1:5432), migrates it, bootstraps the directory and
   bulk-loads the same 1,000,000-assignment organisation as bench/check_endpoint.py. With `--reuse-db`
   a database an earlier `--keep-db` run left is migrated and used again (no reload; new requesters);
2. makes `--requesters` users eligible for Helpdesk Administrator at `/` (a policy without MFA,
   ticket or approval, so that every request is provisioned at once) and gives each a personal API
   token;
3. starts an SMTP sink (aiosmtpd, in this process), a Celery worker on Redis ($PIM_BENCH_REDIS,
   default redis://127.0.0.1:6379/15) that relays the outbox to it, collects the static files (the
   production storage needs their manifest) and starts gunicorn with the README's production worker
   count (4 sync workers), waiting for its sign-in page to answer 200;
4. for each round, for 1, 4 and 8 client threads in turn: each client takes requesters from a shared
   pool and POSTs `self_activate` for their eligibility (one keep-alive connection per client) for
   `--seconds`; meanwhile a separate connection samples the row locks on the audit chain head
   (`pgrowlocks`) to measure how long each transaction holds it;
5. measures the SQL queries of one activation in this process (Django's test client with
   CaptureQueriesContext, the same view and services), with a token on its first use, and the CPU time
   of one activation in this process (median of 20, after a warm-up); during the load it reads the
   CPU time the gunicorn workers and the database's backends spent (/proc), per activation;
6. prints, per client count, activations/s, p50 and p99 (medians of the rounds), the ratio of
   8-client to 1-client throughput measured in the same run, the chain-head hold time (p50, p99, max,
   from the database), queries per activation, the emails the sink received, and the goals:
   ratio ≥ 2, ≥ 30 activations/s at 8 clients, hold p99 ≤ 5 ms, ≤ 25 queries per activation;
7. stops everything and drops the database. Only loopback traffic.

The chain-head hold time is sampled: a transaction whose lock lives shorter than the sampling period
(printed) may be missed or counted as one period, so the p99 is an upper bound of the real one at the
resolution printed. The bench also prints the share of samples in which the head was locked. The sampler
pauses `--sample-every-ms` (default 1) between samples: a tight loop would take most of a core (its client
and its backend) from a 2-core machine's web workers.
"""

import argparse
import hashlib
import http.client
import json
import os
import queue
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import check_endpoint  # noqa: E402 - the shared 1 M-assignment loader
import scratch_db  # noqa: E402 - beside this file

DB_NAME = "pim_bench_activations"
PG = os.environ.get("PIM_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("PIM_BENCH_REDIS", "redis://127.0.0.1:6379/15")
ROLE = "helpdesk-administrator"
CLIENT_COUNTS = (1, 4, 8)
log = check_endpoint.log


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BENCH = "api_activations"


def db_exists(name: str) -> bool:
    """A database an earlier --keep-db run of this bench left (one it did not make is never reused)."""
    return scratch_db.reusable(name, bench=BENCH)


def bench_env(var_dir: str, smtp_port: int) -> dict:
    env = check_endpoint.bench_env(var_dir)
    env.update({
        "DATABASE_URL": f"{PG}/{DB_NAME}",
        "CELERY_BROKER_URL": REDIS,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port),
        "PIM_SITE_URL": "http://127.0.0.1:8000",
    })
    return env


# --- Arrangement ------------------------------------------------------------------------------------


def arrange_requesters(count: int) -> list[tuple[str, int]]:
    """`count` new users, each eligible for ROLE at `/`, each with a personal token: [(token, eligible id)].
    Their usernames carry a tag of this run, so a reused database gets fresh ones.
    Users, eligibilities and tokens are bulk-loaded (this is the arrangement, not what is measured); the
    role's policy is relaxed through the ORM for the same reason."""
    from django.db import connection
    from django.utils import timezone

    from api.models import ApiToken
    from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, User

    now = timezone.now()
    tag = f"requester-{secrets.token_hex(3)}-"
    role = RoleDefinition.objects.get(slug=ROLE)
    root = Scope.objects.get(path="/")
    RoleSetting.objects.filter(role=role).update(
        require_mfa_on_activation=False, require_ticket_on_activation=False, require_approval=False,
        require_justification_on_activation=True, max_activation_minutes=480)
    raw = connection.connection
    copy = check_endpoint._copy
    copy(raw, User._meta.db_table,
         ["password", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active",
          "date_joined", "display_name", "is_emergency_access"],
         ((f"!{i}", False, f"{tag}{i}", "", "", f"{tag}{i}@bench.example", False, True, now,
           f"Requester {i}", False) for i in range(count)))
    users = list(User.objects.filter(username__startswith=tag).order_by("pk").values_list("pk", flat=True))
    import uuid

    copy(raw, Principal._meta.db_table, ["object_id", "kind", "display_name", "email", "description", "enabled",
                                         "user_id", "role_assignable", "created_at"],
         ((uuid.uuid4(), Principal.Kind.USER, f"Requester {i}", f"{tag}{i}@bench.example", "", True, uid, False,
           now) for i, uid in enumerate(users)))
    principals = list(Principal.objects.filter(user_id__in=users).order_by("user_id").values_list("pk", "user_id"))
    copy(raw, Assignment._meta.db_table,
         ["principal_id", "role_id", "scope_id", "kind", "status", "start_at", "end_at", "origin", "created_at",
          "justification", "ticket_system", "ticket_number", "end_reason"],
         ((pid, role.pk, root.pk, "eligible", "live", now - timedelta(days=1), now + timedelta(days=90), "pim",
           now - timedelta(days=1), "bench", "", "", "") for pid, _ in principals))
    eligible = dict(Assignment.objects.filter(role=role, scope=root, kind="eligible",
                                              principal_id__in=[p for p, _ in principals])
                    .values_list("principal_id", "pk"))
    tokens = []
    rows = []
    for pid, uid in principals:
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        rows.append((prefix, hashlib.sha256(secret.encode()).hexdigest(), "bench", ApiToken.Kind.PERSONAL, pid, uid,
                     uid, now - timedelta(minutes=10), now + timedelta(days=1), "general"))
        tokens.append((f"pim_{prefix}_{secret}", eligible[pid]))
    copy(raw, ApiToken._meta.db_table, ["prefix", "secret_hash", "name", "kind", "principal_id", "user_id",
                                        "created_by_id", "created_at", "expires_at", "purpose"], rows)
    with connection.cursor() as cursor:
        for model in (User, Principal, Assignment, ApiToken):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
        cursor.execute("CREATE EXTENSION IF NOT EXISTS pgrowlocks")
    return tokens


def queries_per_activation(token: str, eligible_id: int) -> tuple[int, list[str]]:
    """One activation through the API view in this process, with its SQL captured."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/api/v1/requests/", data=json.dumps(_body(eligible_id)),
                               content_type="application/json")
    if response.status_code != 201:
        raise RuntimeError(f"the measured activation was refused: {response.status_code} {response.content[:300]}")
    return len(captured.captured_queries), [q["sql"][:160] for q in captured.captured_queries]


def cpu_per_activation(tokens: list[tuple[str, int]], runs: int = 20) -> dict:
    """CPU time of this process for one activation through the API view (median of `runs`, after two
    warm-up ones) and the wall time its SQL took (the database's share, as seen from here)."""
    from django.db import connection
    from django.test import Client

    sql_seconds = [0.0]

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            sql_seconds[0] += time.perf_counter() - started

    cpu, sql, wall = [], [], []
    for index in range(runs + 2):
        token, eligible_id = tokens.pop()
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
        sql_seconds[0] = 0.0
        started_cpu, started = time.process_time(), time.perf_counter()
        with connection.execute_wrapper(timed):
            response = client.post("/api/v1/requests/", data=json.dumps(_body(eligible_id)),
                                   content_type="application/json")
        if response.status_code != 201:
            raise RuntimeError(f"activation refused: {response.status_code} {response.content[:300]}")
        if index >= 2:
            cpu.append((time.process_time() - started_cpu) * 1000)
            wall.append((time.perf_counter() - started) * 1000)
            sql.append(sql_seconds[0] * 1000)
    return {"cpu_ms": statistics.median(cpu), "sql_ms": statistics.median(sql), "wall_ms": statistics.median(wall)}


_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pids) -> dict[int, float]:
    """user + system CPU seconds of each process still alive (from /proc/<pid>/stat)."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return seconds


def children_of(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU spent by the gunicorn workers and by this database's backends (but the sampler's) between
    `start()` and `stop()`."""

    def __init__(self, gunicorn_pid: int, dsn: str, db_name: str, exclude_backend: "callable"):
        self.gunicorn_pid, self.dsn, self.db_name, self.exclude_backend = gunicorn_pid, dsn, db_name, exclude_backend

    def _backends(self) -> list[int]:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            rows = conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                                [self.db_name]).fetchall()
        excluded = self.exclude_backend()
        return [pid for (pid,) in rows if pid != excluded]

    def _read(self) -> tuple[dict, dict]:
        return process_cpu_seconds(children_of(self.gunicorn_pid)), process_cpu_seconds(self._backends())

    def start(self) -> None:
        self.before = self._read()

    def stop(self) -> dict:
        after = self._read()
        return {name: sum(now - self.before[i].get(pid, 0.0) for pid, now in after[i].items())
                for i, name in enumerate(("web_cpu_s", "db_cpu_s"))}


def _body(eligible_id: int) -> dict:
    return {"action": "self_activate", "assignment": eligible_id, "duration_minutes": 60,
            "justification": "benchmark activation"}


# --- SMTP sink --------------------------------------------------------------------------------------


class MailSink:
    """An aiosmtpd server in a thread that counts the messages it is handed."""

    def __init__(self, port: int):
        from aiosmtpd.controller import Controller

        self.count = 0
        self.lock = threading.Lock()
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
                with sink.lock:
                    sink.count += 1
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        if getattr(self.controller, "_thread", None) is not None:
            self.controller.stop()


# --- Chain-head lock sampling -----------------------------------------------------------------------


class HeadLockSampler:
    """Polls pgrowlocks on the chain-head table from its own connection; a locker's hold time is the span
    between the first and the last sample that saw its transaction id, plus one sampling period."""

    def __init__(self, dsn: str, table: str, pause_ms: float = 1.0):
        self.dsn, self.table, self.pause = dsn, table, pause_ms / 1000
        self.backend_pid: int | None = None
        self.stop_event = threading.Event()
        self.spans: dict[int, list[float]] = {}
        self.phase_of: dict[int, int] = {}  # locker -> the client count driving the load when first seen
        self.phase = 0
        self.samples = 0
        self.locked_samples = 0
        self.elapsed = 0.0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            self.backend_pid = conn.info.backend_pid
            statement = f"SELECT locker::text FROM pgrowlocks('{self.table}')"  # noqa: S608 - a model's table
            started = time.perf_counter()
            while not self.stop_event.wait(self.pause):
                now = time.perf_counter()
                lockers = [int(row[0]) for row in conn.execute(statement).fetchall()]
                self.samples += 1
                if lockers:
                    self.locked_samples += 1
                for xid in lockers:
                    span = self.spans.setdefault(xid, [now, now])
                    span[1] = now
                    self.phase_of.setdefault(xid, self.phase)
            self.elapsed = time.perf_counter() - started

    @property
    def period(self) -> float:
        return self.elapsed / self.samples if self.samples else float("nan")

    def holds_ms(self, phase: int | None = None) -> list[float]:
        return sorted((last - first + self.period) * 1000 for xid, (first, last) in self.spans.items()
                      if phase is None or self.phase_of.get(xid) == phase)


# --- Driving ----------------------------------------------------------------------------------------


def drive(port: int, pool: "queue.Queue[tuple[str, int]]", *, clients: int, seconds: float) -> dict:
    deadline = time.perf_counter() + seconds
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[list[str]] = [[] for _ in range(clients)]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.perf_counter() < deadline:
            try:
                token, eligible_id = pool.get_nowait()
            except queue.Empty:
                errors[index].append("pool exhausted: raise --requesters")
                return
            started = time.perf_counter()
            try:
                conn.request("POST", "/api/v1/requests/", body=json.dumps(_body(eligible_id)),
                             headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                      "Connection": "keep-alive"})
                response = conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                errors[index].append(repr(error))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            if response.status != 201:
                errors[index].append(f"{response.status} {body[:200]!r}")
                continue
            latencies[index].append(time.perf_counter() - started)
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = sorted(x for chunk in latencies for x in chunk)
    n = len(flat)
    return {"activations": n, "per_s": n / elapsed, "p50_ms": flat[n // 2] * 1000 if n else float("nan"),
            "p99_ms": flat[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan"),
            "errors": [e for chunk in errors for e in chunk]}


def wait_http(port: int, timeout: float = 90) -> None:
    """Until the sign-in page answers 200 (a 500 there, e.g. missing static files, stops the bench)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/accounts/login/")
            response = conn.getresponse()
            body = response.read()
        except OSError:
            time.sleep(0.5)
            continue
        if response.status != 200:
            raise RuntimeError(f"gunicorn's readiness probe: GET /accounts/login/ answered {response.status} "
                               f"{body[:200]!r}")
        return
    raise RuntimeError("gunicorn did not answer in time")


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


def main() -> int:
    global DB_NAME
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--requesters", type=int, default=12_000, help="eligible users (one activation each)")
    parser.add_argument("--seconds", type=float, default=8.0, help="per round and client count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (the README's production count)")
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", DB_NAME), help="scratch database name")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database at the end")
    parser.add_argument("--reuse-db", action="store_true",
                        help="use the database a --keep-db run left (migrated, not reloaded); implies --keep-db")
    parser.add_argument("--sample-every-ms", type=float, default=1.0, help="pause between chain-head samples")
    args = parser.parse_args()
    DB_NAME = args.db
    reuse = args.reuse_db and db_exists(DB_NAME)
    keep = args.keep_db or args.reuse_db

    var_dir = tempfile.mkdtemp(prefix="pim-bench-act-")
    smtp_port = free_port()
    env = bench_env(var_dir, smtp_port)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    sys.path.insert(0, str(ROOT))
    check_endpoint.DB_NAME = DB_NAME
    if not reuse:
        try:
            scratch_db.create(DB_NAME, bench=BENCH, replace=True)
        except scratch_db.NotOurs as error:
            sys.exit(str(error))
    subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=False, capture_output=True)
    processes: list[subprocess.Popen] = []
    sink = MailSink(smtp_port)
    try:
        if reuse:
            import django
            from django.core.management import call_command

            django.setup()
            log(f"reusing {DB_NAME}: migrating ...")
            call_command("migrate", verbosity=0, interactive=False)
        else:
            log(f"loading {args.assignments} assignments into {DB_NAME} ...")
            check_endpoint.load(args.assignments)
        from django.db import connection

        from assignments.models import Assignment
        from audit.models import AuditChainHead

        loaded = Assignment.objects.count()
        tokens = arrange_requesters(args.requesters)
        log(f"{len(tokens)} requesters eligible for {ROLE} at / with personal tokens ({loaded} assignments)")
        measured_queries, query_list = queries_per_activation(*tokens.pop())  # the token's first use
        in_process = cpu_per_activation(tokens)
        log(f"one activation in this process: {in_process['cpu_ms']:.1f} ms CPU, {in_process['sql_ms']:.1f} ms in "
            f"SQL, {in_process['wall_ms']:.1f} ms in all (medians of 20)")
        connection.close()

        sink.start()
        processes.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "pim_portal", "worker", "--concurrency", "2", "--loglevel",
             "WARNING", "--without-gossip", "--without-mingle", "-Q", "celery"],
            cwd=ROOT, env=env, stdout=open(Path(var_dir) / "worker.log", "w"), stderr=subprocess.STDOUT))
        # DJANGO_DEBUG=0 serves static files through the manifest storage: without its manifest every page
        # that links a static file (the sign-in page, the readiness probe) answers 500.
        subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput", "-v", "0"],
                       cwd=ROOT, env=env, check=True)
        port = free_port()
        gunicorn = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "pim_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--keep-alive", "30", "--log-level", "warning"],
            cwd=ROOT, env=env)
        processes.append(gunicorn)
        wait_http(port)
        pool: queue.Queue = queue.Queue()
        for item in tokens:
            pool.put(item)
        log(f"gunicorn on 127.0.0.1:{port} ({args.workers} workers), worker on {REDIS}, SMTP sink on "
            f"127.0.0.1:{smtp_port}; {args.rounds} rounds × {args.seconds:.0f} s per client count")
        drive(port, pool, clients=2, seconds=2)  # warm-up: connections, caches, prepared statements

        results: dict[int, list[dict]] = {n: [] for n in CLIENT_COUNTS}
        sampler = HeadLockSampler(f"{PG}/{DB_NAME}", AuditChainHead._meta.db_table, args.sample_every_ms)
        sampler_thread = threading.Thread(target=sampler.run, daemon=True)
        sampler_thread.start()
        meter = CpuMeter(gunicorn.pid, f"{PG}/postgres", DB_NAME, lambda: sampler.backend_pid)
        for index in range(args.rounds):
            for clients in CLIENT_COUNTS:
                meter.start()
                sampler.phase = clients
                result = drive(port, pool, clients=clients, seconds=args.seconds)
                cpu = meter.stop()
                n = max(1, result["activations"])
                result["web_cpu_ms"], result["db_cpu_ms"] = cpu["web_cpu_s"] * 1000 / n, cpu["db_cpu_s"] * 1000 / n
                results[clients].append(result)
                log(f"round {index + 1} {clients} client{'s' if clients > 1 else ' '}: {result['per_s']:6.1f} "
                    f"activations/s  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
                    f"CPU per activation: web {result['web_cpu_ms']:5.1f} ms, database {result['db_cpu_ms']:5.1f} ms  "
                    f"({result['activations']} activations, {len(result['errors'])} errors"
                    + (f"; first: {result['errors'][0]}" if result["errors"] else "") + ")")
        sampler.stop_event.set()
        sampler_thread.join()
        activated = sum(r["activations"] for rs in results.values() for r in rs)
        drain_deadline = time.time() + 120
        while sink.count < activated and time.time() < drain_deadline:
            time.sleep(0.5)

        keys = ("per_s", "p50_ms", "p99_ms", "web_cpu_ms", "db_cpu_ms")
        summary = {n: {key: statistics.median(r[key] for r in rs) for key in keys} for n, rs in results.items()}
        ratio = summary[8]["per_s"] / summary[1]["per_s"] if summary[1]["per_s"] else float("nan")
        holds = sampler.holds_ms()
        hold_p50, hold_p99 = percentile(holds, 0.5), percentile(holds, 0.99)
        errors = sum(len(r["errors"]) for rs in results.values() for r in rs)
        goals = {
            "ratio 8/1 clients ≥ 2": ratio >= 2,
            "≥ 30 activations/s at 8 clients": summary[8]["per_s"] >= 30,
            "chain-head hold p99 ≤ 5 ms": hold_p99 <= 5,
            "≤ 25 queries per activation": measured_queries <= 25,
        }
        load = os.getloadavg()
        print()
        print(f"{'clients':>7} {'activations/s':>14} {'p50 ms':>8} {'p99 ms':>8} {'web CPU ms':>11} {'db CPU ms':>10}"
              f"   (medians of {args.rounds} rounds, {loaded} assignments, {args.workers} gunicorn workers)")
        for n, row in summary.items():
            print(f"{n:>7} {row['per_s']:14.1f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f} {row['web_cpu_ms']:11.1f} "
                  f"{row['db_cpu_ms']:10.1f}")
        print(f"ratio 8 clients / 1 client throughput: {ratio:.2f}")
        print(f"chain-head hold (pgrowlocks, {len(holds)} lockers seen, sampled every "
              f"{sampler.period * 1000:.2f} ms): p50 {hold_p50:.2f} ms, p99 {hold_p99:.2f} ms, "
              f"max {holds[-1] if holds else float('nan'):.2f} ms; head locked in "
              f"{100 * sampler.locked_samples / max(1, sampler.samples):.1f}% of samples")
        for n in CLIENT_COUNTS:
            phase_holds = sampler.holds_ms(n)
            print(f"  at {n} client{'s' if n > 1 else ''}: hold p50 {percentile(phase_holds, 0.5):.2f} ms, "
                  f"p99 {percentile(phase_holds, 0.99):.2f} ms ({len(phase_holds)} lockers)")
        print(f"queries per activation (a token's first use): {measured_queries}")
        print(f"one activation in the bench process: {in_process['cpu_ms']:.1f} ms CPU, {in_process['sql_ms']:.1f} ms "
              f"in SQL, {in_process['wall_ms']:.1f} ms in all")
        print(f"emails received by the SMTP sink: {sink.count} for {activated} activations; errors: {errors}")
        print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
        for goal, met in goals.items():
            print(f"  {goal}: {'met' if met else 'NOT met'}")
        print(json.dumps({"summary": summary, "ratio": ratio, "hold_ms": {"p50": hold_p50, "p99": hold_p99},
                          "queries": measured_queries, "in_process": in_process, "errors": errors,
                          "emails": sink.count, "activations": activated, "assignments": loaded,
                          "loadavg": load, "at": datetime.now(UTC).isoformat()}))
        if os.environ.get("PIM_BENCH_SHOW_QUERIES"):
            print("\n".join(query_list))
        return 0 if errors == 0 else 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        sink.stop()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before dropping
            pass
        if not keep and scratch_db.drop(DB_NAME, bench=BENCH):
            log(f"dropped {DB_NAME}")


if __name__ == "__main__":
    sys.exit(main())
