"""Benchmark: `audit_verify` (the real verifier, `audit.integrity.audit_chain_verify`) on PostgreSQL —
events per CPU-second counting this process *and* its database backends, wall rate, peak memory.

    .venv/bin/python bench/audit_verify.py [--db NAME] [--events 1000000] [--keep-db | --reuse-db]
        [--baseline-events 200000] [--repeat 1]

With `--reuse-db` it verifies whatever log the database `--db` holds (e.g. the 10 M events of
bench/large_org.py's database: `--db pim_bench_large_org --reuse-db`); otherwise it creates `--db`,
migrates it and COPYs `--events` events with a valid chain (bench/audit_export.py's generator), and
drops it at the end unless `--keep-db`. A database it did not create is never dropped.

The baseline, measured in the same run on the first `--baseline-events` events: the straightforward
reader (`iter_event_rows`, one dict per event, `canonical_bytes`, the writer's own encoder), which is
what the verifier would be without its fast path. CPU of the backends is read from /proc (same
machine) for every backend of the database, sampled while the verifier runs (its prefetch thread has
a connection of its own). Peak memory is VmHWM after a reset, minus the RSS before.
"""

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

import scratch_db  # noqa: E402 - beside this file

PG = scratch_db.PG
TICK = os.sysconf("SC_CLK_TCK")


def _admin(sql: str, params=None):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def _proc_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


class BackendCpu:
    """CPU seconds the database's backends spend between start() and stop() (sampled every 0.2 s, so a
    backend that exits keeps what it had spent at its last sample)."""

    def __init__(self, db: str):
        self.db, self.first, self.last = db, {}, {}
        self.stop_event = threading.Event()

    def _sample(self):
        for (pid,) in _admin("SELECT pid FROM pg_stat_activity WHERE datname = %s", [self.db]) or []:
            cpu = _proc_cpu(pid)
            if cpu is not None:
                self.first.setdefault(pid, cpu)
                self.last[pid] = cpu

    def _run(self):
        while not self.stop_event.wait(0.2):
            self._sample()

    def start(self):
        self._sample()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def stop(self) -> float:
        self._sample()
        self.stop_event.set()
        self.thread.join()
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", "pim_bench_audit_verify"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--reuse-db", action="store_true", help="verify the log the database holds")
    parser.add_argument("--baseline-events", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    exists = bool(_admin("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]))
    if exists and not args.reuse_db:
        print(f"{args.db} exists: pass --reuse-db to verify its log, or choose another --db", file=sys.stderr)
        return 2
    if args.reuse_db and not exists:
        print(f"{args.db} does not exist", file=sys.stderr)
        return 2
    os.environ["DATABASE_URL"] = f"{PG}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    created = False
    try:
        if not exists:
            scratch_db.create(args.db, bench="audit_verify")
            created = True
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0, interactive=False)
        if created:
            import audit_export

            audit_export.load(args.events, min(args.events, 100_000))
        from audit.integrity import audit_chain_verify, iter_event_rows, row_hash
        from audit.models import AuditEvent

        total = AuditEvent.objects.count()
        print(f"{total:,} events in {args.db}", flush=True)

        # Baseline: the straightforward reader on the first events, same run, same meter.
        meter = BackendCpu(args.db)
        meter.start()
        c0, t0, n = time.process_time(), time.perf_counter(), 0
        for _seq, data, prev_hash, stored in iter_event_rows():
            if row_hash(data, prev_hash) != stored:
                raise SystemExit(f"baseline: event {_seq} does not match")
            n += 1
            if n >= args.baseline_events:
                break
        base_cpu, base_wall, base_db = time.process_time() - c0, time.perf_counter() - t0, meter.stop()
        base_rate = n / (base_cpu + base_db)
        print(f"baseline (straightforward reader, first {n:,}): {n / base_wall:,.0f}/s wall, "
              f"{base_rate:,.0f} events per CPU-second (process {base_cpu:.1f} s + database {base_db:.1f} s)",
              flush=True)

        rates, walls, mems = [], [], []
        for rep in range(args.repeat):
            connection.close()
            Path("/proc/self/clear_refs").write_text("5")
            rss = _rss("VmRSS")
            meter = BackendCpu(args.db)
            meter.start()
            c0, t0 = time.process_time(), time.perf_counter()
            result = audit_chain_verify()
            cpu, wall, db = time.process_time() - c0, time.perf_counter() - t0, meter.stop()
            mem = (_rss("VmHWM") - rss) / 1024
            rate = result.verified / (cpu + db)
            rates.append(rate)
            walls.append(result.verified / wall)
            mems.append(mem)
            print(f"rep {rep + 1}: {result.summary()}; {result.verified / wall:,.0f}/s wall, {rate:,.0f} events per "
                  f"CPU-second (process {cpu:.1f} s incl. its prefetch thread + database {db:.1f} s), peak memory "
                  f"+{mem:.0f} MB", flush=True)
            if not result.ok:
                return 1
        rate = statistics.median(rates)
        print(f"\naudit_verify: {total:,} events, {rate:,.0f} events per CPU-second (median of {args.repeat}), "
              f"{statistics.median(walls):,.0f}/s wall on a shared machine, peak +{max(mems):.0f} MB; "
              f"{rate / base_rate:.1f}x the straightforward reader ({base_rate:,.0f}/CPU-s) measured in the same run")
        print(f"  goal ≥ 50,000 events per CPU-second: {'met' if rate >= 50_000 else 'NOT met'}")
        return 0
    finally:
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before dropping
            pass
        if created and not args.keep_db and scratch_db.drop(args.db, bench="audit_verify"):
            print(f"dropped {args.db}")


if __name__ == "__main__":
    sys.exit(main())
