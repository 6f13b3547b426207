"""Benchmark: the outbox relay's email throughput per process, to a local aiosmtpd, on PostgreSQL.

    .venv/bin/python bench/outbox_relay.py [--db NAME] [--emails 20000] [--baseline-emails 2000]
        [--django-emails 4000] [--limit 200] [--backlog 100000] [--keep-db]

Creates the scratch database `--db` (default pim_bench_outbox_relay; refuses to touch one that exists
and that it did not create), migrates it, starts aiosmtpd in its own process (`python -m aiosmtpd`,
its Sink handler: it accepts and drops), then:
1. baseline, same run: `--baseline-emails` emails relayed row by row (`outbox_relay_once(batched=False)`:
   one SMTP session and three UPDATEs per email, the relay before batching);
2. `--emails` emails relayed in batches (`outbox_relay_once(limit=--limit)`: one claim, one SMTP
   session per claim and priority, one UPDATE for the delivered rows);
3. `--django-emails` emails relayed in batches as before the relay wrote each email's bytes itself
   (Django's EmailMultiAlternatives built and flattened per email): the ratio of emails per CPU-second;
4. with `--backlog` informational emails queued (the sweep's bulk insert), one approval request:
   seconds until it is delivered, and how many emails went out before it.
Prints emails/s (wall and per CPU-second of this process), the ratio batched / row by row, and where
the wall time went (this process's CPU, its database backend's, the SMTP peer's, the rest: waiting for
a CPU or for the peer). The emails are queued with the sweep's bulk writer (COPY), as a sweep queues
them: one notice per ended assignment for its holder and one shared by its three administrators.
`PIM_EMAIL_SMTP_SESSIONS` (default 4) sets the sessions a batch is spread over; `--sessions 1` is one.
The database is dropped at the end unless `--keep-db`.
"""

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

import scratch_db  # noqa: E402 - beside this file

PG = scratch_db.PG
ADMINS = 3  # administrators told of each ended assignment


def _admin(sql: str, params=None):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _queue(count: int, tag: str, template: str = "email/expired") -> None:
    from django.db import transaction

    from notifications.email import email_enqueue_many

    # As a sweep queues them: each ended assignment has its own notice (its id, holder, scope, link), sent
    # to the holder in the second person and to the scope's administrators (ADMINS of them) as one
    # shared notice: `count` emails, of which count / (ADMINS + 1) * 2 distinct renderings.
    def notices():
        for row in range(-(-count // (ADMINS + 1))):
            context = {"assignment_id": row, "principal": f"Bench holder {row}", "role": "Reader",
                       "scope": f"/subscriptions/s{row % 50}/resourceGroups/rg{row}", "kind": "eligible assignment",
                       "noun": "eligibility for Reader", "row": "eligible_assigned", "privileged": False,
                       "start": "2026-01-01 00:00 UTC", "end": "2026-06-01 00:00 UTC", "permanent": False,
                       "justification": "bench", "link": f"https://pim.example/assignments/{row}/"}
            yield ([f"{tag}{row}@bench.example"], template, {**context, "you": True}, f"{tag}:{row}:you", None)
            admins = [f"{tag}-admin{row % 50}-{a}@bench.example" for a in range(ADMINS)]
            yield (admins, template, context, f"{tag}:{row}", None)

    with transaction.atomic():
        email_enqueue_many(notices())


TICK = os.sysconf("SC_CLK_TCK")
SMTP_PID: list[int] = []  # the aiosmtpd peer's process, for its CPU


def _cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process on this machine (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def _backend_pid() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _drain(*, batched: bool, limit: int) -> tuple[int, float, float]:
    """Relay until nothing is due; prints where the wall time went: this process's CPU, its database
    backend's, the SMTP peer's, and the rest (waiting for the CPU or on the network)."""
    from notifications.outbox import outbox_relay_once

    backend = _backend_pid()
    peer = SMTP_PID[0] if SMTP_PID else None
    b0, p0 = _cpu_of(backend), _cpu_of(peer) if peer else 0.0
    c0, t0, total = time.process_time(), time.perf_counter(), 0
    while True:
        sent = outbox_relay_once(limit=limit, batched=batched)
        total += sent
        if sent == 0:
            break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    db, smtp = _cpu_of(backend) - b0, (_cpu_of(peer) - p0) if peer else 0.0
    print(f"  {total:,} emails: wall {wall:.2f} s = relay CPU {cpu:.2f} s + database backend CPU {db:.2f} s + "
          f"SMTP peer CPU {smtp:.2f} s + other {max(wall - cpu - db - smtp, 0):.2f} s "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)
    return total, wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get("PIM_BENCH_DB", "pim_bench_outbox_relay"))
    parser.add_argument("--emails", type=int, default=20_000)
    parser.add_argument("--baseline-emails", type=int, default=2_000)
    parser.add_argument("--django-emails", type=int, default=4_000,
                        help="emails of the batched run with Django's message built per email (before)")
    parser.add_argument("--limit", type=int, default=200, help="rows per claim (the relay task's default)")
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--sessions", type=int, default=None, help="PIM_EMAIL_SMTP_SESSIONS for the batched run")
    args = parser.parse_args()
    if args.sessions is not None:
        os.environ["PIM_EMAIL_SMTP_SESSIONS"] = str(args.sessions)
    try:
        # A database this bench left earlier is made again; any other is refused, never dropped.
        scratch_db.create(args.db, bench="outbox_relay", replace=True)
    except scratch_db.NotOurs as error:
        print(error, file=sys.stderr)
        return 2
    port = _free_port()
    os.environ.update({"DATABASE_URL": f"{PG}/{args.db}", "EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port),
                       "PIM_LOG_LEVEL": "WARNING"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    smtp = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}", "-c",
                             "aiosmtpd.handlers.Sink"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    SMTP_PID.append(smtp.pid)
    try:
        import django

        django.setup()
        from django.core.management import call_command

        from notifications.models import OutboxMessage

        call_command("migrate", verbosity=0, interactive=False)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)

        _queue(args.baseline_emails, "base")
        n, wall, cpu = _drain(batched=False, limit=args.limit)
        base = n / wall
        print(f"row by row (baseline): {n:,} emails in {wall:.1f} s: {base:,.0f}/s wall, {n / cpu:,.0f} per CPU-second",
              flush=True)

        _queue(args.emails, "batch")
        n, wall, cpu = _drain(batched=True, limit=args.limit)
        rate = n / wall
        print(f"batched (limit {args.limit}): {n:,} emails in {wall:.1f} s: {rate:,.0f}/s wall, "
              f"{n / cpu:,.0f} per CPU-second; {rate / base:.1f}x the row-by-row relay", flush=True)

        # The batched relay as it was before it wrote the bytes itself: Django's EmailMultiAlternatives
        # built and flattened per email (what `email_bytes` replaces), same sessions, same claims.
        from django.core.mail.message import sanitize_address

        from notifications import email as email_module

        fast_bytes = email_module.email_bytes

        def django_bytes(message, *, rendered, mime):
            mail = email_module.email_message(message, rendered=rendered)
            return sanitize_address(mail.to[0], "utf-8"), mail.message().as_bytes(linesep="\r\n")

        _queue(args.django_emails, "django")
        email_module.email_bytes = django_bytes
        try:
            n_django, wall_django, cpu_django = _drain(batched=True, limit=args.limit)
        finally:
            email_module.email_bytes = fast_bytes
        print(f"batched, Django's message per email (before): {n_django:,} emails in {wall_django:.1f} s: "
              f"{n_django / wall_django:,.0f}/s wall, {n_django / cpu_django:,.0f} per CPU-second; now "
              f"{(n / cpu) / (n_django / cpu_django):.2f}x the emails per CPU-second", flush=True)
        failed = OutboxMessage.objects.exclude(status="delivered").count()

        _queue(args.backlog, "backlog")
        from django.db import transaction

        from notifications.email import email_enqueue
        from notifications.outbox import outbox_relay_once

        started = time.perf_counter()
        with transaction.atomic():
            email_enqueue(recipients=["approver@bench.example"], template="email/approval_request",
                          context={"requester": "Alice", "role": "Global Administrator", "scope": "/"},
                          dedupe_key="approve:bench")
        before = 0
        approval = OutboxMessage.objects.get(dedupe_key__startswith="approve:bench")
        while True:
            before += outbox_relay_once(limit=args.limit)
            approval.refresh_from_db()
            if approval.status == "delivered":
                break
        latency = time.perf_counter() - started
        print(f"approval request behind {args.backlog:,} queued emails: delivered after {latency:.2f} s, "
              f"{before - 1} emails sent with or before it", flush=True)
        print()
        print(f"relay: {rate:,.0f} emails/s batched vs {base:,.0f}/s row by row ({rate / base:.1f}x); "
              f"{n / cpu:,.0f} emails per CPU-second vs {n_django / cpu_django:,.0f} before "
              f"({(n / cpu) / (n_django / cpu_django):.2f}x; goal ≥ 1,000: "
              f"{'met' if n / cpu >= 1000 else 'NOT met'}), "
              f"{failed} not delivered; approval behind a {args.backlog:,} backlog in {latency:.2f} s")
        print(f"  goal ≥ 500 emails/s per process: {'met' if rate >= 500 else 'NOT met'}")
        print(f"  goal approval request at SMTP ≤ 30 s behind the backlog: {'met' if latency <= 30 else 'NOT met'}")
        return 0 if failed == 0 else 1
    finally:
        smtp.terminate()
        smtp.wait(timeout=10)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001, S110 - best effort before dropping
            pass
        if not args.keep_db and scratch_db.drop(args.db, bench="outbox_relay"):
            print(f"dropped {args.db}")


if __name__ == "__main__":
    sys.exit(main())
