"""Benchmark: self-activations through the API under gunicorn, at 1, 4 and 8 clients, on PostgreSQL with
1,000,000 assignments, a real Celery worker on Redis and an SMTP sink.

    .venv/bin/python bench/api_activations.py [--assignments 1000000] [--seconds 8] [--rounds 3]

What it does, in one run:
1. creates the database `pim_bench_activations` on the PostgreSQL at $PIM_BENCH_PG (default
   postgres://postgres@127.0.0.1:5432), migrates it, bootstraps the directory and bulk-loads the same
   1,000,000-assignment organisation as bench/check_endpoint.py;
2. makes `--requesters` users eligible for Helpdesk Administrator at `/` (a policy without MFA,
   ticket or approval, so that every request is provisioned at once) and gives each a personal API
   token;
3. starts an SMTP sink (aiosmtpd, in this process), a Celery worker on Redis ($PIM_BENCH_REDIS,
   default redis://127.0.0.1:6379/15) that relays the outbox to it, and gunicorn with the README's
   production worker count (4 sync workers);
4. for each round, for 1, 4 and 8 client threads in turn: each client takes requesters from a shared
   pool and POSTs `self_activate` for their eligibility (one keep-alive connection per client) for
   `--seconds`; meanwhile a separate connection samples the row locks on the audit chain head
   (`pgrowlocks`) to measure how long each transaction holds it;
5. measures the SQL queries of one activation in this process (Django's test client with
   CaptureQueriesContext, the same view and services);
6. prints, per client count, activations/s, p50 and p99 (medians of the rounds), the ratio of
   8-client to 1-client throughput measured in the same run, the chain-head hold time (p50, p99, max,
   from the database), queries per activation, the emails the sink received, and the goals:
   ratio ≥ 2, ≥ 30 activations/s at 8 clients, hold p99 ≤ 5 ms, ≤ 25 queries per activation;
7. stops everything and drops the database. Only loopback traffic.

The chain-head hold time is sampled: a transaction whose lock lives shorter than the sampling period
(printed) may be missed or counted as one period, so the p99 is an upper bound of the real one at the
resolution printed. The bench also prints the share of samples in which the head was locked.
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
    """`count` users, each eligible for ROLE at `/`, each with a personal token: [(token, eligible id)].
    Users, eligibilities and tokens are bulk-loaded (this is the arrangement, not what is measured); the
    role's policy is relaxed through the ORM for the same reason."""
    from django.db import connection
    from django.utils import timezone

    from api.models import ApiToken
    from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, User

    now = timezone.now()
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
         ((f"!{i}", False, f"requester{i}", "", "", f"requester{i}@bench.example", False, True, now,
           f"Requester {i}", False) for i in range(count)))
    users = list(User.objects.filter(username__startswith="requester").order_by("pk").values_list("pk", flat=True))
    import uuid

    copy(raw, Principal._meta.db_table, ["object_id", "kind", "display_name", "email", "description", "enabled",
                                         "user_id", "role_assignable", "created_at"],
         ((uuid.uuid4(), Principal.Kind.USER, f"Requester {i}", f"requester{i}@bench.example", "", True, uid, False,
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

    def __init__(self, dsn: str, table: str):
        self.dsn, self.table = dsn, table
        self.stop_event = threading.Event()
        self.spans: dict[int, list[float]] = {}
        self.samples = 0
        self.locked_samples = 0
        self.elapsed = 0.0

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            statement = f"SELECT locker::text FROM pgrowlocks('{self.table}')"  # noqa: S608 - a model's table
            started = time.perf_counter()
            while not self.stop_event.is_set():
                now = time.perf_counter()
                lockers = [int(row[0]) for row in conn.execute(statement).fetchall()]
                self.samples += 1
                if lockers:
                    self.locked_samples += 1
                for xid in lockers:
                    span = self.spans.setdefault(xid, [now, now])
                    span[1] = now
            self.elapsed = time.perf_counter() - started

    @property
    def period(self) -> float:
        return self.elapsed / self.samples if self.samples else float("nan")

    def holds_ms(self) -> list[float]:
        return sorted((last - first + self.period) * 1000 for first, last in self.spans.values())


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
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/accounts/login/")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("gunicorn did not answer in time")


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assignments", type=int, default=1_000_000)
    parser.add_argument("--requesters", type=int, default=12_000, help="eligible users (one activation each)")
    parser.add_argument("--seconds", type=float, default=8.0, help="per round and client count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers (the README's production count)")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    var_dir = tempfile.mkdtemp(prefix="pim-bench-act-")
    smtp_port = free_port()
    env = bench_env(var_dir, smtp_port)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    sys.path.insert(0, str(ROOT))
    check_endpoint.DB_NAME = DB_NAME
    check_endpoint.admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
    check_endpoint.admin_sql(f"CREATE DATABASE {DB_NAME}")
    subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=False, capture_output=True)
    processes: list[subprocess.Popen] = []
    sink = MailSink(smtp_port)
    try:
        log(f"loading {args.assignments} assignments into {DB_NAME} ...")
        check_endpoint.load(args.assignments)
        from django.db import connection

        from audit.models import AuditChainHead

        tokens = arrange_requesters(args.requesters)
        log(f"{len(tokens)} requesters eligible for {ROLE} at / with personal tokens")
        measured_queries, query_list = queries_per_activation(*tokens.pop())
        connection.close()

        sink.start()
        processes.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/celery"), "-A", "pim_portal", "worker", "--concurrency", "2", "--loglevel",
             "WARNING", "--without-gossip", "--without-mingle", "-Q", "celery"],
            cwd=ROOT, env=env, stdout=open(Path(var_dir) / "worker.log", "w"), stderr=subprocess.STDOUT))
        port = free_port()
        processes.append(subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "pim_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--keep-alive", "30", "--log-level", "warning"],
            cwd=ROOT, env=env))
        wait_http(port)
        pool: queue.Queue = queue.Queue()
        for item in tokens:
            pool.put(item)
        log(f"gunicorn on 127.0.0.1:{port} ({args.workers} workers), worker on {REDIS}, SMTP sink on "
            f"127.0.0.1:{smtp_port}; {args.rounds} rounds × {args.seconds:.0f} s per client count")
        drive(port, pool, clients=2, seconds=2)  # warm-up: connections, caches, prepared statements

        results: dict[int, list[dict]] = {n: [] for n in CLIENT_COUNTS}
        sampler = HeadLockSampler(f"{PG}/{DB_NAME}", AuditChainHead._meta.db_table)
        sampler_thread = threading.Thread(target=sampler.run, daemon=True)
        sampler_thread.start()
        for index in range(args.rounds):
            for clients in CLIENT_COUNTS:
                result = drive(port, pool, clients=clients, seconds=args.seconds)
                results[clients].append(result)
                log(f"round {index + 1} {clients} client{'s' if clients > 1 else ' '}: {result['per_s']:6.1f} "
                    f"activations/s  p50 {result['p50_ms']:6.1f} ms  p99 {result['p99_ms']:6.1f} ms  "
                    f"({result['activations']} activations, {len(result['errors'])} errors"
                    + (f"; first: {result['errors'][0]}" if result["errors"] else "") + ")")
        sampler.stop_event.set()
        sampler_thread.join()
        activated = sum(r["activations"] for rs in results.values() for r in rs)
        drain_deadline = time.time() + 120
        while sink.count < activated and time.time() < drain_deadline:
            time.sleep(0.5)

        summary = {n: {key: statistics.median(r[key] for r in rs) for key in ("per_s", "p50_ms", "p99_ms")}
                   for n, rs in results.items()}
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
        print()
        print(f"{'clients':>7} {'activations/s':>14} {'p50 ms':>8} {'p99 ms':>8}   (medians of {args.rounds} rounds, "
              f"{args.assignments} assignments, {args.workers} gunicorn workers)")
        for n, row in summary.items():
            print(f"{n:>7} {row['per_s']:14.1f} {row['p50_ms']:8.1f} {row['p99_ms']:8.1f}")
        print(f"ratio 8 clients / 1 client throughput: {ratio:.2f}")
        print(f"chain-head hold (pgrowlocks, {len(holds)} lockers seen, sampled every "
              f"{sampler.period * 1000:.2f} ms): p50 {hold_p50:.2f} ms, p99 {hold_p99:.2f} ms, "
              f"max {holds[-1] if holds else float('nan'):.2f} ms; head locked in "
              f"{100 * sampler.locked_samples / max(1, sampler.samples):.1f}% of samples")
        print(f"queries per activation: {measured_queries}")
        print(f"emails received by the SMTP sink: {sink.count} for {activated} activations; errors: {errors}")
        for goal, met in goals.items():
            print(f"  {goal}: {'met' if met else 'NOT met'}")
        print(json.dumps({"summary": summary, "ratio": ratio, "hold_ms": {"p50": hold_p50, "p99": hold_p99},
                          "queries": measured_queries, "errors": errors, "emails": sink.count,
                          "activations": activated, "assignments": args.assignments,
                          "at": datetime.now(UTC).isoformat()}))
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
        if not args.keep_db:
            check_endpoint.admin_sql(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
            log(f"dropped {DB_NAME}")


if __name__ == "__main__":
    sys.exit(main())
