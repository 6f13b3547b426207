"""Benchmark: the CPU cost per row of an expiry-sweep batch and of its notices, per-pair resolution
(before) vs set-based resolution (now), on a scope-diverse organisation on PostgreSQL.

    .venv/bin/python bench/expiry_notices.py --db NAME [--batch-size 2000] [--repeat 3]

Runs on a database bench/large_org.py built and kept (`large_org.py --db NAME --keep-db --build-only`):
1,000,000 assignments of resource roles over 10,000 resource groups, of which many have lapsed and
wait for the sweep. Each measured batch is `assignments.sweeps.assignments_expire_batch` inside a
transaction that is rolled back, so the database is left as it was and every run sees the same rows.
The baseline, in the same run, is the same batch with `Resolver.prime_policies` turned off: each
(role, scope) of the batch then reads its policy and its administrators on its own, as before. CPU is
this process's (time.process_time) plus its database backend's (/proc/<pid>/stat, same machine);
medians of `--repeat` alternating runs.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scratch_db  # noqa: E402 - beside this file

TICK = os.sysconf("SC_CLK_TCK")


class Rollback(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a database bench/large_org.py kept (read, never changed)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not scratch_db.exists(args.db):
        sys.exit(f"{args.db} does not exist: build it with bench/large_org.py --db {args.db} --keep-db --build-only")
    os.environ["DATABASE_URL"] = f"{scratch_db.PG}/{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    os.environ["PIM_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from assignments import sweeps
    from core import domain_events
    from notifications import events, recipients

    call_command("migrate", verbosity=0, interactive=False)

    def backend_cpu() -> float:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            pid = cursor.fetchone()[0]
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    spent = {"cpu": 0.0, "db": 0.0}
    original = events.on_domain_events_many

    def timed(**kwargs):
        c0, b0 = time.process_time(), backend_cpu()
        try:
            return original(**kwargs)
        finally:
            spent["cpu"] += time.process_time() - c0
            spent["db"] += backend_cpu() - b0

    for fn, many in list(domain_events._batch_handlers.items()):
        if many is original:
            domain_events._batch_handlers[fn] = timed
    prime = recipients.Resolver.prime_policies
    results: dict[str, list[tuple[float, float]]] = {"per pair (before)": [], "set-based (now)": []}
    for _ in range(args.repeat):
        for label in results:
            recipients.Resolver.prime_policies = (lambda self, pairs: None) if label.startswith("per") else prime
            spent.update(cpu=0.0, db=0.0)
            c0, b0 = time.process_time(), backend_cpu()
            try:
                with transaction.atomic():
                    rows = sweeps.assignments_expire_batch(now=timezone.now(), batch_size=args.batch_size)
                    raise Rollback
            except Rollback:
                pass
            whole = (time.process_time() - c0 + backend_cpu() - b0) * 1000 / rows
            notices = (spent["cpu"] + spent["db"]) * 1000 / rows
            results[label].append((whole, notices))
            print(f"{label}: {rows} rows, batch {whole:.3f} CPU-ms per row, of which notices {notices:.3f}",
                  flush=True)
    recipients.Resolver.prime_policies = prime
    summary = {label: (statistics.median(w for w, _ in runs), statistics.median(n for _, n in runs))
               for label, runs in results.items()}
    (old_whole, old_notices), (new_whole, new_notices) = summary.values()
    print()
    print(f"expiry batch of {args.batch_size} on {args.db} (CPU of this process + its database backend, medians "
          f"of {args.repeat}):")
    print(f"  before: {old_whole:.3f} ms per row ({1000 / old_whole:,.0f} rows per CPU-second), notices "
          f"{old_notices:.3f} ms")
    print(f"  now:    {new_whole:.3f} ms per row ({1000 / new_whole:,.0f} rows per CPU-second), notices "
          f"{new_notices:.3f} ms")
    print(f"  rows per CPU-second: {old_whole / new_whole:.1f}x; notices alone: {old_notices / new_notices:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
