"""Access-check latency at 10 k and at 1 M assignments, in-process, on PostgreSQL.

Creates a scratch database (default `pim_bench_access`) on the server of DATABASE_URL, migrates it,
bulk-loads a directory (100 k principals, 1 k groups, ~11 k scopes in a management-group tree) and
assignments with COPY, and times `access_find_grant` on a mix of granted and denied decisions
(direct, through a group, at an ancestor scope). Prints p50/p99 at 10 k and at 1 M and the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/access_check.py

Targets (issue 2): p99 ≤ 1 ms at 1 M; p99(1 M) / p99(10 k) ≤ 1.5. The machine is shared and noisy:
each phase is measured in several rounds and the median of the rounds is quoted.
"""

import argparse
import os
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import scratch_db  # noqa: E402 - beside this file

BASE_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
BENCH_DB = os.environ.get("BENCH_DB", "pim_bench_access")
TOTAL = int(os.environ.get("BENCH_ASSIGNMENTS", "1000000"))
SMALL = 10_000
PRINCIPALS = 100_000
GROUPS = 1_000
CHECKS = int(os.environ.get("BENCH_CHECKS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def _url_for(db: str) -> str:
    parts = urlparse(BASE_URL)
    return urlunparse(parts._replace(path=f"/{db}"))


def recreate_database() -> None:
    """Make the scratch database (again, if an earlier run of this bench left it); refuse any other."""
    scratch_db.PG = _url_for("").rstrip("/")
    try:
        scratch_db.create(BENCH_DB, bench="access_check", replace=True)
    except scratch_db.NotOurs as error:
        sys.exit(str(error))


def drop_database() -> None:
    from django.db import connections

    connections.close_all()
    scratch_db.drop(BENCH_DB, bench="access_check")


def setup_django() -> None:
    os.environ["DATABASE_URL"] = _url_for(BENCH_DB)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from assignments.bootstrap import bootstrap_all

    bootstrap_all()


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def load_directory(rnd: random.Random):
    """Principals, groups with their scopes, and a scope tree: 10 management groups → 100
    subscriptions → 1 000 resource groups → 10 000 resources. Returns ids to sample from."""
    from django.db import connection

    from assignments.models import Scope

    now = datetime.now(UTC)
    root_id = Scope.objects.get(path="/").pk
    with connection.cursor() as cur:
        raw = cur.cursor
        cur.execute("SELECT COALESCE(MAX(id), 0) FROM assignments_principal")
        first_principal = cur.fetchone()[0] + 1
        copy_rows(raw, "assignments_principal",
                  ["id", "object_id", "kind", "display_name", "email", "description", "enabled", "role_assignable",
                   "created_at"],
                  ((first_principal + i, uuid.uuid4(), "service_principal" if i < PRINCIPALS else "group",
                    f"p{i}", "", "", True, False, now) for i in range(PRINCIPALS + GROUPS)))
        principal_ids = list(range(first_principal, first_principal + PRINCIPALS))
        group_ids = list(range(first_principal + PRINCIPALS, first_principal + PRINCIPALS + GROUPS))
        cur.execute("SELECT setval(pg_get_serial_sequence('assignments_principal', 'id'), %s)",
                    [first_principal + PRINCIPALS + GROUPS])

        cur.execute("SELECT COALESCE(MAX(id), 0) FROM assignments_scope")
        next_id = cur.fetchone()[0] + 1
        scopes, closure = [], []
        ancestors_of = {root_id: [(root_id, 0)]}

        def add(path, kind, parent_id, group_id=None):
            nonlocal next_id
            sid = next_id
            next_id += 1
            scopes.append((sid, path, kind, path.rsplit("/", 1)[-1] or "root", parent_id, group_id, now))
            chain = [(sid, 0)] + [(a, d + 1) for a, d in ancestors_of[parent_id]]
            ancestors_of[sid] = chain
            closure.extend((a, sid, d) for a, d in chain)
            return sid

        group_scope = {}
        for gid in group_ids:
            group_scope[gid] = add(f"/groups/bench-{gid}", "group", root_id, gid)
        leaves, mids = [], []
        for m in range(10):
            mg = add(f"/providers/Microsoft.Management/managementGroups/mg{m}", "management_group", root_id)
            for s in range(10):
                sub = add(f"/subscriptions/m{m}s{s}", "subscription", mg)
                mids.append(sub)
                for r in range(10):
                    rg = add(f"/subscriptions/m{m}s{s}/resourceGroups/rg{r}", "resource_group", sub)
                    mids.append(rg)
                    for v in range(10):
                        leaves.append(add(f"/subscriptions/m{m}s{s}/resourceGroups/rg{r}/providers/"
                                          f"Microsoft.Compute/virtualMachines/vm{v}", "resource", rg))
        copy_rows(raw, "assignments_scope", ["id", "path", "kind", "display_name", "parent_id", "group_id",
                                             "created_at"], scopes)
        copy_rows(raw, "assignments_scopeclosure", ["ancestor_id", "descendant_id", "depth"], closure)
        cur.execute("SELECT setval(pg_get_serial_sequence('assignments_scope', 'id'), %s)", [next_id])
    return principal_ids, group_ids, group_scope, mids, leaves


def assignment_rows(rnd, count, principal_ids, group_ids, group_scope, mids, roles, member_role, seen):
    """`count` unique live assignments: 5 % group memberships, 5 % grants to groups, the rest direct;
    a third eligible; a quarter permanent; all started in the past."""
    now = datetime.now(UTC)
    produced = 0
    while produced < count:
        draw = rnd.random()
        if draw < 0.05:
            principal, role, scope = rnd.choice(principal_ids), member_role, group_scope[rnd.choice(group_ids)]
            kind = "active"
        else:
            principal = rnd.choice(group_ids) if draw < 0.10 else rnd.choice(principal_ids)
            role, scope = rnd.choice(roles), rnd.choice(mids)
            kind = "eligible" if rnd.random() < 0.33 else "active"
        key = (principal, role, scope, kind)
        if key in seen:
            continue
        seen.add(key)
        start = now - timedelta(days=rnd.randint(1, 300))
        end = None if rnd.random() < 0.25 else now + timedelta(days=rnd.randint(1, 300))
        produced += 1
        yield (principal, role, scope, kind, "live", start, end, "", "", "", "pim", start, "")


def load_assignments(rows) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        copy_rows(cur.cursor, "assignments_assignment",
                  ["principal_id", "role_id", "scope_id", "kind", "status", "start_at", "end_at", "justification",
                   "ticket_system", "ticket_number", "origin", "created_at", "end_reason"], rows)
        cur.execute("ANALYZE assignments_assignment")
        cur.execute("ANALYZE assignments_scopeclosure")
        cur.execute("ANALYZE assignments_scope")
        cur.execute("ANALYZE assignments_principal")


def sample_questions(rnd, principal_ids, leaves, mids, role_slugs, n):
    """Half about existing assignments (asked at a scope below them), half random."""
    from django.db import connection

    questions = []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT a.principal_id, r.slug, a.scope_id FROM assignments_assignment a "
            "JOIN assignments_roledefinition r ON r.id = a.role_id "
            "JOIN assignments_principal p ON p.id = a.principal_id AND p.kind = 'service_principal' "
            "WHERE a.kind = 'active' ORDER BY random() LIMIT %s", [n // 2])
        for principal, slug, scope in cur.fetchall():
            questions.append((principal, slug, scope))
    while len(questions) < n:
        questions.append((rnd.choice(principal_ids), rnd.choice(role_slugs), rnd.choice(leaves + mids)))
    rnd.shuffle(questions)
    return questions


def measure(questions) -> tuple[float, float, int]:
    from assignments.access import access_find_grant

    timings, granted = [], 0
    for principal, role, scope in questions[:50]:  # warm-up
        access_find_grant(principal=principal, role=role, scope=scope)
    for principal, role, scope in questions:
        started = time.perf_counter_ns()
        grant = access_find_grant(principal=principal, role=role, scope=scope)
        timings.append((time.perf_counter_ns() - started) / 1e6)
        granted += grant is not None
    timings.sort()
    return timings[len(timings) // 2], timings[int(len(timings) * 0.99) - 1], granted


def phase(label, rnd, principal_ids, leaves, mids, role_slugs):
    questions = sample_questions(rnd, principal_ids, leaves, mids, role_slugs, CHECKS)
    rounds = [measure(questions) for _ in range(ROUNDS)]
    p50 = statistics.median(r[0] for r in rounds)
    p99 = statistics.median(r[1] for r in rounds)
    print(f"{label:>10} assignments: p50 {p50:.3f} ms  p99 {p99:.3f} ms  "
          f"({CHECKS} decisions × {ROUNDS} rounds, {rounds[0][2]} granted per round)", flush=True)
    return p50, p99


def main() -> None:
    global BENCH_DB
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=BENCH_DB, help="scratch database name")
    BENCH_DB = parser.parse_args().db
    rnd = random.Random(42)
    print(f"Scratch database {BENCH_DB} on {urlparse(BASE_URL).hostname}", flush=True)
    recreate_database()
    try:
        setup_django()
        from assignments.models import RoleDefinition

        roles = {r.slug: r.pk for r in RoleDefinition.objects.filter(kind="resource")}
        member_role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_MEMBER).pk
        t0 = time.perf_counter()
        principal_ids, group_ids, group_scope, mids, leaves = load_directory(rnd)
        seen: set = set()
        role_ids, role_slugs = list(roles.values()), list(roles)
        load_assignments(assignment_rows(rnd, SMALL, principal_ids, group_ids, group_scope, mids, role_ids,
                                         member_role, seen))
        print(f"Loaded the directory and {SMALL:,} assignments in {time.perf_counter() - t0:.1f} s", flush=True)
        small = phase(f"{SMALL:,}", rnd, principal_ids, leaves, mids, role_slugs)
        t0 = time.perf_counter()
        load_assignments(assignment_rows(rnd, TOTAL - SMALL, principal_ids, group_ids, group_scope, mids, role_ids,
                                         member_role, seen))
        print(f"Loaded {TOTAL - SMALL:,} more assignments in {time.perf_counter() - t0:.1f} s", flush=True)
        large = phase(f"{TOTAL:,}", rnd, principal_ids, leaves, mids, role_slugs)
        ratio = large[1] / small[1]
        print(f"p99 ratio {TOTAL:,} / {SMALL:,}: {ratio:.2f}  (target ≤ 1.5)   p99 at {TOTAL:,}: {large[1]:.3f} ms "
              f"(target ≤ 1 ms)")
    finally:
        drop_database()


if __name__ == "__main__":
    main()
