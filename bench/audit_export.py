"""Benchmark: the audit CSV export and `audit_verify` at 1,000,000 events on PostgreSQL.

    .venv/bin/python bench/audit_export.py [--events 1000000] [--repeat 3] [--keep]

Creates a scratch database (`pim_bench_audit` on the server of $BENCH_PG, default
postgres://postgres@127.0.0.1:5432), migrates it, bulk-inserts a valid hash chain with COPY, signs a
checkpoint, then measures, `--repeat` times each (medians printed):

- the CSV export through the real view (test client, streamed): total time, time to first byte and to
  the first data rows, peak RSS delta (VmHWM after resetting it through /proc/self/clear_refs), for
  the newest 100,000 rows (a date filter) and for all rows;
- PostgreSQL's own `COPY (SELECT <the same columns, formatted and neutralised the same way>) TO STDOUT
  WITH CSV` for the same rows, the physical baseline;
- `audit_verify` throughput (events/s).

Targets (issue 5): memory delta at 1 M within 10% of the delta at 100 k and under 64 MB; export at
least 25% of COPY's speed; verify at >= 50,000 events/s. The database is dropped at the end unless
`--keep`.
"""

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scratch_db  # noqa: E402 - beside this file

from core.actors import Actor  # noqa: E402 - the project, found on the path just set

SETUP = Actor.system("bench-setup")

DB_NAME = "pim_bench_audit"
BENCH = "audit_export"


def psql(server: str, sql: str) -> None:
    subprocess.run(["psql", f"{server}/postgres", "-v", "ON_ERROR_STOP=1", "-q", "-c", sql], check=True)


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


ACTIONS = ["assignment.create", "request.self_activate", "request.approve", "assignment.expire",
           "role_setting.update", "user.sign_in", "mfa.verify", "assignment.remove"]
SCOPES = ["/", "/subscriptions/s1", "/subscriptions/s1/resourceGroups/rg1", "/subscriptions/s2",
          "/providers/Microsoft.Management/managementGroups/mg1", ""]
ROLES = ["Global Administrator", "Owner", "User Access Administrator", "Exchange Administrator", ""]
JUSTIFICATIONS = ["Incident INC-4711: restore mail flow", "Quarterly patching", "=HYPERLINK(\"http://x\")",
                  "Überprüfung der Zugriffsrechte", "-rf cleanup of stale resources", ""]


def generate(first_seq: int, prev_hash: str, count: int, start: datetime, step: timedelta):
    """Rows for COPY, with a valid chain continuing from (first_seq - 1, prev_hash)."""
    from audit.services import HASHED_FIELDS, canonical_bytes

    sha = hashlib.sha256
    for i in range(count):
        seq = first_seq + i
        at = start + step * i
        before = {"status": "eligible", "end_at": None} if i % 4 == 0 else None
        after = {"status": "active", "n": i % 97, "note": "ok"} if i % 3 == 0 else None
        corr = uuid.UUID(int=(seq * 2654435761) % (1 << 128))
        data = {
            "seq": seq,
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "action": ACTIONS[i % len(ACTIONS)],
            "outcome": "success" if i % 17 else "denied",
            "actor_id": 1000 + i % 5000,
            "actor_label": f"User {i % 5000}",
            "target_type": "assignments.assignment",
            "target_id": str(i),
            "target_label": f"Assignment {i}",
            "principal_id": 2000 + i % 7000,
            "principal_label": f"Principal {i % 7000}",
            "role_id": i % 11,
            "role_label": ROLES[i % len(ROLES)],
            "scope_path": SCOPES[i % len(SCOPES)],
            "justification": JUSTIFICATIONS[i % len(JUSTIFICATIONS)],
            "ticket": f"CHG{i:07d}" if i % 2 else "",
            "message": "",
            "before": before,
            "after": after,
            "correlation_id": str(corr),
            "client_ip": f"10.{i % 256}.{(i >> 8) % 256}.{(i >> 16) % 256}",
        }
        assert len(data) == len(HASHED_FIELDS)
        digest = sha(prev_hash.encode() + b"\n" + canonical_bytes(data)).hexdigest()
        yield (seq, at, data["action"], data["outcome"], data["actor_id"], data["actor_label"], data["target_type"],
               data["target_id"], data["target_label"], data["principal_id"], data["principal_label"],
               data["role_id"], data["role_label"], data["scope_path"], data["justification"], data["ticket"],
               data["message"], None if before is None else json.dumps(before),
               None if after is None else json.dumps(after), data["correlation_id"], data["client_ip"], prev_hash,
               digest)
        prev_hash = digest


COPY_COLUMNS = ("seq, occurred_at, action, outcome, actor_id, actor_label, target_type, target_id, target_label, "
                "principal_id, principal_label, role_id, role_label, scope_path, justification, ticket, message, "
                "before, after, correlation_id, client_ip, prev_hash, hash")


def load(count: int, small: int) -> datetime:
    """Insert `count` events, one every 5 s, all in the past; the newest `small` of them start at a
    UTC midnight, which is returned (so a date filter selects exactly them, plus the few real events
    the setup wrote)."""
    from django.db import connection, transaction

    from audit.models import AuditChainHead

    started = time.monotonic()
    step = timedelta(seconds=5)
    days = int(small * step.total_seconds() // 86400) + 2
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    boundary = today - timedelta(days=days)
    start = boundary - step * (count - small)
    with transaction.atomic():
        head = AuditChainHead.objects.select_for_update().get(pk=1)
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY audit_auditevent ({COPY_COLUMNS}) FROM STDIN") as copy:
                last = None
                for row in generate(head.last_seq + 1, head.last_hash, count, start, step):
                    copy.write_row(row)
                    last = row
        AuditChainHead.objects.filter(pk=1).update(last_seq=last[0], last_hash=last[-1])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE audit_auditevent")
    print(f"loaded {count:,} events in {time.monotonic() - started:.1f}s", flush=True)
    return boundary


def measure_export(client, query: str) -> dict:
    reset_peak()
    rss_before = rss_kb("VmRSS")
    t0 = time.perf_counter()
    response = client.get("/audit/export.csv" + query)
    assert response.status_code == 200, response.status_code
    first_byte = first_rows = None
    size = rows = 0
    for chunk in response.streaming_content:
        now = time.perf_counter()
        if first_byte is None:
            first_byte = now - t0
        elif first_rows is None:
            first_rows = now - t0
        size += len(chunk)
        rows += chunk.count(b"\n")  # a good-enough row count (no newlines inside these cells)
    total = time.perf_counter() - t0
    peak = rss_kb("VmHWM")
    return {"total": total, "ttfb": first_byte, "first_rows": first_rows, "mem_mb": (peak - rss_before) / 1024,
            "bytes": size, "rows": rows - 1}


def measure_copy(queryset) -> float:
    from django.db import connection

    from auditlog.selectors import CSV_COLUMNS

    annotations = {f"csv_{name}": expression for name, expression in CSV_COLUMNS[1:]}
    qs = queryset.order_by().annotate(**annotations).values_list("seq", *annotations).order_by("seq")
    sql, params = qs.query.sql_with_params()
    t0 = time.perf_counter()
    size = 0
    with connection.cursor() as cursor:
        raw = cursor.cursor
        literal = raw.mogrify(sql, params) if hasattr(raw, "mogrify") else None
        if literal is None:
            from psycopg import ClientCursor

            with ClientCursor(raw.connection) as client_cursor:
                literal = client_cursor.mogrify(sql, params)
        with raw.copy(f"COPY ({literal}) TO STDOUT WITH CSV HEADER") as copy:
            for block in copy:
                size += len(block)
    return time.perf_counter() - t0


def median(values):
    return statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", DB_NAME), help="scratch database name")
    parser.add_argument("--keep", "--keep-db", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", "--reuse-db", action="store_true",
                        help="reuse a database an earlier --keep run of this bench left (skip create and load)")
    args = parser.parse_args()

    server = scratch_db.PG
    if args.reuse:
        if not scratch_db.reusable(args.db, bench=BENCH):
            sys.exit(f"{args.db} was not left by an earlier run of {BENCH}: nothing to reuse")
    else:
        try:
            scratch_db.create(args.db, bench=BENCH)
        except scratch_db.NotOurs as error:
            sys.exit(str(error))
    os.environ["DATABASE_URL"] = f"{server}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    os.environ.setdefault("PIM_VAR_DIR", "/tmp/pim_bench_audit_var")
    import django

    django.setup()
    from django.conf import settings

    settings.ALLOWED_HOSTS = ["*"]
    settings.DEBUG = False  # as in production: no per-query log growing with the number of chunks
    try:
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep and not args.reuse and scratch_db.drop(args.db, bench=BENCH):
            print(f"dropped {args.db}")


def run(args) -> None:
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from assignments import services as assignment_services
    from assignments.bootstrap import bootstrap_all
    from assignments.models import RoleDefinition, Scope, User
    from audit.integrity import audit_chain_verify
    from audit.models import AuditEvent
    from audit.services import audit_checkpoint_create

    if not args.reuse:
        call_command("migrate", verbosity=0)
        bootstrap_all()
        auditor = assignment_services.user_create(username="bench-auditor", password="bench-password-123456",
                                                  email="auditor@example.com", display_name="Bench Auditor",
                                                  actor=SETUP)
        assignment_services.assignment_create(
            actor=SETUP, principal=auditor.principal, role=RoleDefinition.objects.get(slug="global-reader"),
            scope=Scope.objects.get(path="/"),
            kind="active", start_at=None, end_at=None, justification="benchmark auditor")
        boundary = load(args.events, args.small)
        audit_checkpoint_create()
    else:
        # The bench events of the "small" set start at a midnight; the few real events are newer.
        newest_small = AuditEvent.objects.order_by("-occurred_at").values_list("occurred_at", flat=True)[args.small - 1]
        boundary = newest_small.replace(hour=0, minute=0, second=0, microsecond=0)
    auditor = User.objects.get(username="bench-auditor")
    total = AuditEvent.objects.count()
    day = boundary.date()
    small_query = f"?period=custom&date_from={day.isoformat()}"
    small_rows = AuditEvent.objects.filter(occurred_at__gte=datetime(day.year, day.month, day.day, tzinfo=UTC)).count()
    print(f"{total:,} events in the log; 'small' export = events from {day} = {small_rows:,} rows", flush=True)

    client = Client()
    client.force_login(auditor)
    from auditlog.selectors import audit_events_filtered

    small_qs = audit_events_filtered(user=auditor, params={"period": "custom", "date_from": day.isoformat()})
    all_qs = audit_events_filtered(user=auditor, params={})

    results: dict[str, list[dict]] = {"small": [], "all": []}
    copies: dict[str, list[float]] = {"small": [], "all": []}
    verifies: list[float] = []
    verify_cpu_rates: list[float] = []
    measure_export(client, small_query)  # warm-up (imports, caches)
    for rep in range(args.repeat):
        for name, query, qs in (("small", small_query, small_qs), ("all", "", all_qs)):
            result = measure_export(client, query)
            results[name].append(result)
            copies[name].append(measure_copy(qs))
            print(f"  rep {rep + 1} {name}: export {result['total']:.2f}s ({result['rows']:,} rows, "
                  f"{result['bytes'] / 1e6:.0f} MB), ttfb {result['ttfb'] * 1000:.0f} ms, first rows "
                  f"{(result['first_rows'] or 0) * 1000:.0f} ms, mem +{result['mem_mb']:.1f} MB; "
                  f"COPY {copies[name][-1]:.2f}s", flush=True)
        t0, c0 = time.perf_counter(), time.process_time()
        verdict = audit_chain_verify()
        elapsed = time.perf_counter() - t0
        assert verdict.ok, verdict.summary()
        verifies.append(verdict.verified / elapsed)
        verify_cpu_rates.append(verdict.verified / (time.process_time() - c0))
        print(f"  rep {rep + 1} verify: {verdict.verified:,} events in {elapsed:.1f}s "
              f"({verifies[-1]:,.0f}/s wall, {verify_cpu_rates[-1]:,.0f}/s per CPU-second of this process); "
              f"load average {os.getloadavg()[0]:.1f}", flush=True)

    print("\n== medians ==")
    mem = {}
    for name in ("small", "all"):
        rows = results[name]
        total_s = median([r["total"] for r in rows])
        copy_s = median(copies[name])
        mem[name] = median([r["mem_mb"] for r in rows])
        ttfb = median([r["ttfb"] for r in rows]) * 1000
        first_rows = median([r["first_rows"] or 0 for r in rows]) * 1000
        print(f"{name:>5} ({rows[0]['rows']:,} rows): export {total_s:.2f}s, ttfb {ttfb:.0f} ms, "
              f"first rows {first_rows:.0f} ms, peak mem delta {mem[name]:.1f} MB, "
              f"COPY {copy_s:.2f}s, export speed = {copy_s / total_s:.0%} of COPY (target >= 25%)")
    growth = (mem["all"] - mem["small"]) / mem["small"] if mem["small"] else float("inf")
    verify_cpu = median(verify_cpu_rates)
    print(f"memory: {mem['small']:.1f} MB at {results['small'][0]['rows']:,} rows vs {mem['all']:.1f} MB at "
          f"{results['all'][0]['rows']:,} rows: {growth:+.0%} (target within 10%, and < 64 MB)")
    print(f"verify: {median(verifies):,.0f} events/s wall, {verify_cpu:,.0f} events per CPU-second of the verifying "
          f"process (target >= 50,000/s)")
    print(f"server: PostgreSQL {connection.pg_version}, {os.cpu_count()} CPUs, load average now "
          f"{os.getloadavg()[0]:.1f} (other work on the machine)")


if __name__ == "__main__":
    main()
