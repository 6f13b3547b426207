"""Benchmark: audited API writes under gunicorn on PostgreSQL — bursts of identical self-activations
(deadlocks, lost refusal events) and the throughput of distinct ones (the chain head's serialisation).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pim_bench_chain \
    .venv/bin/python bench/api_activation_burst.py [--rounds 10] [--burst 20] [--workers 4] [--clients 1,4,8]

What it does:
1. migrates the database of DATABASE_URL (it must be a scratch database: users, tokens and audit
   events are added to it), bootstraps the directory;
2. creates people eligible for Helpdesk Administrator (ticket, no approval, no MFA), each with a
   personal API token;
3. starts gunicorn on a free loopback port (`--workers` sync workers);
4. bursts: `--rounds` times, `--burst` identical activations of one person's eligibility fired at the
   same moment (a barrier); prints the status codes, and how many refusals lack their "denied"
   events;
5. throughput: for each client count, that many clients activate distinct eligibilities one after
   the other for `--seconds`; prints activations per second and p50/p99 latency;
6. prints how long the web workers' commits held the chain head (p50/p99/max, from the debug lines
   of the `audit.chain` logger), runs audit_verify, stops gunicorn.
"""

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def setup_django():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    import django

    django.setup()
    from django.conf import settings

    # The people are arrangement, not the benchmark: do not spend minutes on password hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_people(count: int, prefix: str) -> list[tuple[str, int]]:
    """(token, eligible assignment id) of `count` new people."""
    from django.utils import timezone

    from api import services as api_services
    from assignments import services
    from assignments.models import RoleDefinition, Scope
    from core.actors import Actor

    setup = Actor.system("bench-setup")
    role = RoleDefinition.objects.get(slug="helpdesk-administrator")
    root = Scope.objects.get(path="/")
    people = []
    for i in range(count):
        user = services.user_create(username=f"{prefix}{i}", password="bench-password-123",
                                    email=f"{prefix}{i}@example.com", display_name=f"{prefix} {i}", actor=setup)
        eligible = services.assignment_create(actor=setup, principal=user.principal, role=role, scope=root,
                                              kind="eligible", justification="bench")
        _, token = api_services.token_create_personal(actor=user, name="bench", mfa_verified_at=timezone.now())
        people.append((token, eligible.pk))
    return people


BODY = {"action": "self_activate", "duration_minutes": 60, "justification": "bench", "ticket_system": "jira",
        "ticket_number": "OPS-1"}


def activate(port: int, token: str, eligible: int, conn: http.client.HTTPConnection | None = None) -> int:
    own = conn is None
    conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api/v1/requests/", body=json.dumps({**BODY, "assignment": eligible}),
                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = conn.getresponse()
    response.read()
    if own:
        conn.close()
    return response.status


def burst(port: int, token: str, eligible: int, size: int) -> list[int]:
    barrier = threading.Barrier(size)
    statuses: list[int] = []

    def one():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.connect()
        barrier.wait()
        statuses.append(activate(port, token, eligible, conn))
        conn.close()

    threads = [threading.Thread(target=one) for _ in range(size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def throughput(port: int, people: list[tuple[str, int]], clients: int, seconds: float) -> tuple[float, list]:
    queue = list(people)
    lock = threading.Lock()
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while time.monotonic() < deadline:
            with lock:
                if not queue:
                    return
                token, eligible = queue.pop()
            started = time.perf_counter()
            status = activate(port, token, eligible, conn)
            if status == 201:
                latencies.append(time.perf_counter() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies) / (time.monotonic() - started), latencies


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", default="1,4,8")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--per-client", type=int, default=100, help="eligibilities prepared per client")
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a scratch PostgreSQL database.")
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from assignments.bootstrap import bootstrap_all

    bootstrap_all()
    run_id = str(int(time.time()))
    clients = [int(c) for c in args.clients.split(",") if c]
    burst_people = make_people(args.rounds, f"burst{run_id}-")
    flow_people = make_people(sum(clients) * args.per_client, f"flow{run_id}-")
    from django.db import connection

    connection.close()

    port = free_port()
    env = {**os.environ, "PIM_API_WRITE_RATE": "100000/min", "PIM_LOG_LEVEL": "DEBUG"}
    hold_log = ROOT / "var" / f"bench-chain-{run_id}.log"
    hold_log.parent.mkdir(exist_ok=True)
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "pim_portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers)],
        cwd=ROOT, env=env, stderr=hold_log.open("w"))
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        from django.contrib.auth import get_user_model

        from audit.models import AuditEvent

        totals = {"500": 0, "missing_denied": 0, "answers": 0}
        for round_number, (token, eligible) in enumerate(burst_people):
            statuses = burst(port, token, eligible, args.burst)
            user = get_user_model().objects.get(username=f"burst{run_id}-{round_number}")
            refusals = sum(1 for s in statuses if 400 <= s < 500)
            denied = AuditEvent.objects.filter(actor_id=user.pk, action="request.self_activate",
                                               outcome="denied").count()
            totals["500"] += statuses.count(500)
            totals["missing_denied"] += max(0, refusals + statuses.count(500) - denied)
            totals["answers"] += len(statuses)
            log(f"burst {round_number}: {sorted(statuses)} — denied events {denied} for "
                f"{len(statuses) - statuses.count(201)} refused attempts")
        log(f"bursts: {totals['500']} of {totals['answers']} answers were 500; "
            f"{totals['missing_denied']} refused attempts without their denied event")
        offset = 0
        for count in clients:
            people = flow_people[offset:offset + count * args.per_client]
            offset += count * args.per_client
            rate, latencies = throughput(port, people, count, args.seconds)
            latencies.sort()
            p50 = statistics.median(latencies) * 1000 if latencies else 0
            p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0
            log(f"throughput with {count} clients: {rate:.1f} activations/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    finally:
        server.terminate()
        server.wait(timeout=30)
    holds = sorted(float(line.rsplit("held_ms=", 1)[1].split()[0]) for line in hold_log.read_text().splitlines()
                   if "held_ms=" in line)
    if holds:
        log(f"chain head held per commit: p50 {statistics.median(holds):.2f} ms, "
            f"p99 {holds[int(len(holds) * 0.99) - 1]:.2f} ms, max {holds[-1]:.2f} ms ({len(holds)} commits)")
    from audit.integrity import audit_chain_verify

    log(f"audit_verify: {audit_chain_verify().summary()}")


if __name__ == "__main__":
    main()
