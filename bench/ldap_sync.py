"""Benchmark: LDAP sync from a real slapd — a full sync of 10,000 users and 500 groups (20,000 static
memberships), a second full run with nothing changed, and an incremental run after 100 changes — each
against a plain `ldapsearch` of the same entries (same filters, same paging) in the same run.

    .venv/bin/python bench/ldap_sync.py [--db pim_bench_ldap_sync] [--users 10000] [--groups 500]
                                        [--members 40] [--changes 100] [--keep]

Creates the database `--db` on the PostgreSQL of DATABASE_URL's server (refusing to touch one that
exists already), migrates and bootstraps it, starts /usr/sbin/slapd on a free loopback port with a
generated directory (mdb, entries stamped over the past hours, as a directory changed over time is),
and prints for each phase: seconds, SQL queries, LDAP pages read, the run's counts, and the ratio to
`ldapsearch -E pr=<page>/noprompt` of the same entries. Drops the database it created (unless --keep)
and stops slapd.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.slapd import (  # noqa: E402  (the same generated server the tests use)
    GROUPS,
    PEOPLE,
    ROOT_DN,
    ROOT_PASSWORD,
    SUFFIX,
    Slapd,
    group_dn,
    slapd_available,
    user_dn,
)

PAGE = 500


def generated_ldif(*, users: int, groups: int, members: int) -> str:
    """The directory, each entry stamped one second after the previous one, ending an hour ago."""
    end = datetime.now(UTC) - timedelta(hours=1)
    total = users + groups
    stamp = lambda i: (end - timedelta(seconds=total - i)).strftime("%Y%m%d%H%M%SZ")  # noqa: E731
    blocks = [f"dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Bench\ndc: example",
              f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
              f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups"]
    for i in range(users):
        blocks.append(f"dn: {user_dn(f'u{i:05d}')}\nobjectClass: inetOrgPerson\nuid: u{i:05d}\ncn: User {i}\n"
                      f"sn: {i}\nmail: u{i:05d}@example.org\nmodifyTimestamp: {stamp(i)}")
    for g in range(groups):
        lines = [f"dn: {group_dn(f'g{g:03d}')}", "objectClass: groupOfNames", f"cn: g{g:03d}",
                 f"modifyTimestamp: {stamp(users + g)}"]
        lines += [f"member: {user_dn(f'u{(g * members + k) % users:05d}')}" for k in range(members)]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def ldapsearch(server: Slapd, search_filter: str) -> tuple[float, int]:
    """The baseline: ldapsearch of the same entries and attributes, paged, output discarded."""
    started = time.monotonic()
    out = subprocess.run(["ldapsearch", "-LLL", "-x", "-H", server.url, "-D", ROOT_DN, "-w", ROOT_PASSWORD,
                          "-b", SUFFIX, "-E", f"pr={PAGE}/noprompt", search_filter,
                          "entryUUID", "uid", "mail", "cn", "member", "modifyTimestamp"],
                         check=True, capture_output=True).stdout
    return time.monotonic() - started, out.count(b"\ndn: ") + out.startswith(b"dn: ")


def psql(sql: str, url: str) -> subprocess.CompletedProcess:
    parts = urlsplit(url)
    return subprocess.run(["psql", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432), "-U",
                           parts.username or "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c",
                           sql], check=True, capture_output=True, text=True)


class Queries:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def configure_subscribers(now) -> None:
    """What a deployment with integrations has: a webhook target taking assignment events, and a
    connector target with a mapping of a role the directory's groups do not hold."""
    from assignments.models import RoleDefinition, Scope
    from connectors.models import Mapping, Target
    from core.crypto import seal

    Target.objects.create(name="bench hooks", kind="webhook", secret_sealed=seal("bench"), created_at=now,
                          updated_at=now, config={"url": "https://hooks.example.org/pim",
                                                  "event_types": ["assignment.created", "assignment.removed"]})
    target = Target.objects.create(name="bench", kind="ldap", config={}, created_at=now, updated_at=now)
    Mapping.objects.create(target=target, role=RoleDefinition.objects.get(slug="owner"),
                           scope=Scope.objects.get(path="/"), grant="cn=owners,ou=groups,dc=example,dc=org",
                           created_at=now)


def timed_run(source, kind: str):
    from django.db import connection

    from directory.ldap_sync import directory_sync_run

    counter, pages = Queries(), []
    started, cpu = time.monotonic(), time.process_time()
    with connection.execute_wrapper(counter):
        run = directory_sync_run(source=source, kind=kind, on_page=pages.append)
    seconds = time.monotonic() - started
    print(f"  (this process: {time.process_time() - cpu:.2f} CPU-seconds)")
    assert run.status == "succeeded", run.error
    return run, seconds, counter.count, len(pages)


def report(label: str, run, seconds: float, queries: int, pages: int, baseline: float, baseline_entries: int):
    print(f"{label}: {seconds:.2f} s, {queries:,} SQL queries, {pages} LDAP pages; read {run.users_read:,} users + "
          f"{run.groups_read:,} groups; users {run.users_created:,} created / {run.users_updated:,} updated / "
          f"{run.users_disabled:,} disabled / {run.users_unchanged:,} unchanged; memberships "
          f"{run.memberships_added:,} added / {run.memberships_removed:,} removed")
    print(f"{' ' * len(label)}  baseline ldapsearch of the same {baseline_entries:,} entries: {baseline:.2f} s; "
          f"ratio {seconds / baseline:.1f}x; {queries / max(1, run.entries_read):.1f} queries per entry read")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="pim_bench_ldap_sync", help="scratch database to create (must not exist)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--members", type=int, default=40, help="members per group")
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--subscribers", action="store_true",
                        help="configure a webhook endpoint taking assignment events and a connector mapping (of "
                             "another role) first, so the load's domain events reach the provisioning and "
                             "connector subscribers instead of stopping at their one configuration query")
    args = parser.parse_args()
    problem = slapd_available()
    if problem:
        sys.exit(problem)
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    if psql(f"SELECT 1 FROM pg_database WHERE datname = '{args.db}'", server_url).stdout.strip():
        sys.exit(f"The database {args.db} exists: choose another --db (this bench drops only what it creates).")
    psql(f"CREATE DATABASE {args.db}", server_url)
    parts = urlsplit(server_url)
    os.environ["DATABASE_URL"] = parts._replace(path=f"/{args.db}").geturl()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    os.environ["PIM_LOG_LEVEL"] = "WARNING"
    slapd = Slapd(directory=Path(tempfile.mkdtemp(prefix="pim-bench-slapd-")))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    try:
        import django

        django.setup()
        import ldap3
        from django.core.management import call_command
        from django.utils import timezone

        from assignments.bootstrap import bootstrap_all
        from core.crypto import seal
        from directory.ldap_client import PRESETS
        from directory.models import DirectorySource

        call_command("migrate", verbosity=0)
        bootstrap_all()
        slapd.write_config()
        started = time.monotonic()
        slapd.load(generated_ldif(users=args.users, groups=args.groups, members=args.members))
        slapd.start()
        print(f"slapd: {args.users:,} users, {args.groups:,} groups of {args.members} members "
              f"({args.groups * args.members:,} memberships) loaded in {time.monotonic() - started:.1f} s")
        now = timezone.now()
        source = DirectorySource.objects.create(**{
            **PRESETS["openldap"], "name": "bench", "preset": "openldap", "url": slapd.url, "bind_dn": ROOT_DN,
            "bind_password_sealed": seal(ROOT_PASSWORD), "base_dns": SUFFIX, "page_size": PAGE,
            "created_at": now, "updated_at": now})
        both = f"(|{source.user_filter}{source.group_filter})"
        if args.subscribers:
            configure_subscribers(now)

        run, seconds, queries, pages = timed_run(source, "full")
        baseline, entries = ldapsearch(slapd, both)
        report("full sync (first)", run, seconds, queries, pages, baseline, entries)

        run, seconds, queries, pages = timed_run(source, "full")
        baseline, entries = ldapsearch(slapd, both)
        report("full sync (unchanged)", run, seconds, queries, pages, baseline, entries)

        # 100 changes: 60 users change their mail, 20 move in or out of a group, 20 new users.
        watermark = DirectorySource.objects.get(pk=source.pk).watermark
        with slapd.connection() as conn:
            third = args.changes * 3 // 5
            for i in range(third):
                conn.modify(user_dn(f"u{i * 7 % args.users:05d}"),
                            {"mail": [(ldap3.MODIFY_REPLACE, [f"changed{i}@example.org"])]})
            added = args.changes // 5
            for i in range(added):
                conn.add(user_dn(f"new{i:03d}"), "inetOrgPerson", {"uid": f"new{i:03d}", "cn": f"New {i}",
                                                                    "sn": "New", "mail": f"new{i}@example.org"})
            for i in range(args.changes - third - added):
                conn.modify(group_dn(f"g{i % args.groups:03d}"),
                            {"member": [(ldap3.MODIFY_ADD, [user_dn(f"new{i % added:03d}")])]})
        source.refresh_from_db()
        run, seconds, queries, pages = timed_run(source, "incremental")
        baseline, entries = ldapsearch(slapd, f"(&{both}(modifyTimestamp>={watermark}))")
        report(f"incremental ({args.changes} changes)", run, seconds, queries, pages, baseline, entries)
    finally:
        slapd.stop()
        shutil.rmtree(slapd.directory, ignore_errors=True)
        from django.db import connections

        connections.close_all()
        if not args.keep:
            psql(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)", server_url)
            print(f"dropped {args.db}")


if __name__ == "__main__":
    main()
