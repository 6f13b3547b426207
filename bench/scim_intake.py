"""Benchmark: SCIM inbound provisioning at the size of a mid-sized organisation, on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
        .venv/bin/python bench/scim_intake.py [--db pim_bench_scim] [--users 10000] [--groups 500] \\
        [--memberships 20000] [--baseline-users 1000] [--keep]

Creates the scratch database `--db` on the server of DATABASE_URL (and refuses to run if it exists:
it never drops a database it did not create), migrates and bootstraps it, adds a SCIM client and a
token, then through `/scim/v2/` (Django's full request handler, middleware, token check and JSON, in
this process; no network) as Entra ID does it:
1. POST /Users for `--users` users, one request each: users/s;
2. POST /Groups for `--groups` groups, then one PATCH per group adding its share of `--memberships`
   members (`{"op": "add", "path": "members", "value": [...]}`): memberships/s;
3. lists with a filter at that size (userName eq, userName sw, emails co, members eq on groups,
   startIndex deep in the set): median ms over several runs, and the queries each takes.
Baselines measured in the same run, on the same database:
- the same writes through the services directly (`assignments.services.user_create` and
  `membership_directory_add`, which the SCIM endpoint calls, with their audit events and outbox
  rows), for `--baseline-users` users and twice as many memberships: per-row time and the ratio;
- each list's filter as one plain indexed SELECT on the user table (username =, LIKE 'x%'): ms and
  the ratio.
The database is dropped at the end unless --keep.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _url_for(base: str, db: str) -> str:
    return urlunparse(urlparse(base)._replace(path=f"/{db}"))


def create_database(base: str, db: str) -> None:
    import psycopg

    with psycopg.connect(_url_for(base, "postgres"), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db]).fetchone():
            sys.exit(f"The database {db} exists already: pick another --db (this bench drops only what it creates).")
        conn.execute(f'CREATE DATABASE "{db}"')


def drop_database(base: str, db: str) -> None:
    import psycopg
    from django.db import connections

    connections.close_all()
    with psycopg.connect(_url_for(base, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False  # no query log growing with every request
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from assignments.bootstrap import bootstrap_all

    bootstrap_all()


class Scim:
    def __init__(self, token: str):
        from django.test import Client

        self.http = Client(HTTP_HOST="localhost")
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, body=None) -> tuple[int, dict | None]:
        response = self.http.generic(method, f"/scim/v2/{path}", data=json.dumps(body) if body is not None else "",
                                     content_type="application/scim+json", headers=self.headers)
        return response.status_code, (json.loads(response.content) if response.content else None)


def user_body(index: int) -> dict:
    name = f"user{index:05d}@contoso.example"
    return {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
            "externalId": f"ext-{index:05d}", "active": True, "displayName": f"User {index:05d}",
            "name": {"givenName": "User", "familyName": f"{index:05d}"},
            "emails": [{"value": name, "type": "work", "primary": True}]}


def log(message: str) -> None:
    print(message, flush=True)


def timed(fn, runs: int) -> tuple[float, int]:
    """Median ms of `runs` calls, and the queries of one call (counted by an execute wrapper: the
    request handler resets `connection.queries` at the start of each request)."""
    from django.db import connection

    count = 0

    def counter(execute, sql, params, many, context):
        nonlocal count
        count += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counter):
        fn()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples), count


def bulk_fill(args, *, client, user_ids: list[str], group_ids: list[str], scim_added: int, per_group: int) -> int:
    """The rest of the users and memberships as the SCIM endpoint would have left them (user, principal
    marked with the client's source, SCIM resource, live directory-origin memberships), in bulk inserts:
    the lists are then measured at full size. No audit events for these rows (they are not measured)."""
    from django.db import connection
    from django.utils import timezone

    from assignments.models import Assignment, Principal, RoleDefinition, Scope, User
    from directory.models import ScimResource

    now = timezone.now()
    start = time.perf_counter()
    first = len(user_ids)
    for chunk_start in range(first, args.users, 2000):
        indexes = range(chunk_start, min(chunk_start + 2000, args.users))
        users = User.objects.bulk_create([
            User(username=f"user{i:05d}@contoso.example", email=f"user{i:05d}@contoso.example",
                 display_name=f"User {i:05d}", password="!") for i in indexes])
        principals = Principal.objects.bulk_create([
            Principal(kind=Principal.Kind.USER, display_name=user.display_name, email=user.email, user=user,
                      external_source=client.source, external_id=f"ext-{i:05d}")
            for i, user in zip(indexes, users, strict=True)])
        ScimResource.objects.bulk_create([
            ScimResource(client=client, principal=principal, created_at=now, updated_at=now,
                         attributes={"displayName": principal.display_name,
                                     "name": {"givenName": "User", "familyName": f"{i:05d}"},
                                     "emails": [{"value": principal.email, "type": "work", "primary": True}]},
                         emails_index=f"\n{principal.email}\n")
            for i, principal in zip(indexes, principals, strict=True)])
        user_ids.extend(str(principal.object_id) for principal in principals)
    role = RoleDefinition.objects.get(slug=RoleDefinition.GROUP_MEMBER)
    principal_pk = dict(Principal.objects.filter(scim_resource__client=client, kind=Principal.Kind.USER)
                        .values_list("object_id", "pk"))
    scopes = dict(Scope.objects.filter(group__object_id__in=group_ids).values_list("group__object_id", "pk"))
    rows = []
    added = scim_added
    for index, group_id in enumerate(group_ids):
        if index < scim_added // per_group:
            continue
        for offset in range(per_group):
            if added >= args.memberships:
                break
            member = user_ids[(index * per_group + offset) % len(user_ids)]
            rows.append(Assignment(principal_id=principal_pk[uuid_of(member)], role=role,
                                   scope_id=scopes[uuid_of(group_id)], kind=Assignment.Kind.ACTIVE,
                                   start_at=now, created_at=now, origin=Assignment.Origin.DIRECTORY))
            added += 1
    Assignment.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    log(f"bulk-filled to {len(user_ids)} users and {added} memberships in {time.perf_counter() - start:.1f} s "
        f"(not measured: the lists below run at this size)")
    return added


def uuid_of(value: str):
    import uuid

    return uuid.UUID(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="pim_bench_scim")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=500)
    parser.add_argument("--memberships", type=int, default=20_000)
    parser.add_argument("--baseline-users", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--sample", type=int, default=0,
                        help="write only this many users (and twice as many memberships) through SCIM, then "
                             "bulk-load the rest of --users / --memberships with COPY-like bulk inserts before the "
                             "lists (for a loaded machine; rates are then per sample, lists still at full size)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (postgres://…).")
    create_database(base, args.db)
    try:
        setup_django(_url_for(base, args.db))
        run(args)
    finally:
        if not args.keep:
            drop_database(base, args.db)
            log(f"dropped {args.db}")


def run(args) -> None:
    from django.db import connection

    from assignments import services as assignment_services
    from assignments.models import Principal
    from core.actors import Actor
    from directory.scim.clients import scim_client_create, scim_token_create

    setup = Actor.system("bench-setup")
    client = scim_client_create(actor=setup, name="Entra ID (bench)")
    _, token = scim_token_create(actor=setup, client=client)
    scim = Scim(token)

    # 1. users
    scim_users = min(args.sample, args.users) if args.sample else args.users
    scim_memberships = min(2 * scim_users, args.memberships) if args.sample else args.memberships
    start = time.perf_counter()
    user_ids = []
    for index in range(scim_users):
        status, body = scim.call("POST", "Users", user_body(index))
        assert status == 201, body
        user_ids.append(body["id"])
        if (index + 1) % 1000 == 0:
            log(f"  {index + 1} users, {(index + 1) / (time.perf_counter() - start):.0f} users/s so far")
    users_seconds = time.perf_counter() - start
    users_rate = scim_users / users_seconds
    log(f"SCIM POST /Users: {scim_users} users in {users_seconds:.1f} s = {users_rate:.1f} users/s "
        f"({users_seconds / scim_users * 1000:.2f} ms each)")

    # 2. groups and memberships
    start = time.perf_counter()
    group_ids = []
    for index in range(args.groups):
        status, body = scim.call("POST", "Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                                                    "displayName": f"Group {index:04d}",
                                                    "externalId": f"grp-{index:04d}"})
        assert status == 201, body
        group_ids.append(body["id"])
    groups_seconds = time.perf_counter() - start
    log(f"SCIM POST /Groups: {args.groups} groups in {groups_seconds:.1f} s = {args.groups / groups_seconds:.0f} "
        f"groups/s")
    per_group = args.memberships // args.groups
    start = time.perf_counter()
    added = 0
    for index, group_id in enumerate(group_ids):
        if added + per_group > scim_memberships:
            break
        members = [user_ids[(index * per_group + offset) % len(user_ids)] for offset in range(per_group)]
        status, body = scim.call("PATCH", f"Groups/{group_id}", {"schemas": [PATCH], "Operations": [
            {"op": "add", "path": "members", "value": [{"value": member} for member in members]}]})
        assert status == 200, body
        added += len(members)
        if (index + 1) % 50 == 0:
            log(f"  {added} memberships, {added / (time.perf_counter() - start):.0f} memberships/s so far")
    members_seconds = time.perf_counter() - start
    members_rate = added / members_seconds
    log(f"SCIM PATCH /Groups add members: {added} memberships in {members_seconds:.1f} s = "
        f"{members_rate:.1f} memberships/s ({per_group} per PATCH)")
    total = users_seconds + groups_seconds + members_seconds
    log(f"SCIM total: {scim_users} users + {args.groups} groups + {added} memberships in {total:.1f} s")
    total_memberships = added
    if args.sample:
        total_memberships = bulk_fill(args, client=client, user_ids=user_ids, group_ids=group_ids, scim_added=added,
                                      per_group=per_group)

    # Baseline writes: the services the endpoint calls, without HTTP, JSON, tokens or SCIM resources.
    actor = Actor.system("scim", on_behalf_of="baseline")
    sample_group = assignment_services.group_create(display_name="Baseline group", actor=actor)
    groups = [sample_group] + [assignment_services.group_create(display_name=f"Baseline {i}", actor=actor)
                               for i in range(1, max(1, args.baseline_users // 20))]
    start = time.perf_counter()
    baseline_users = [assignment_services.user_create(username=f"base{index:05d}@contoso.example",
                                                      email=f"base{index:05d}@contoso.example",
                                                      display_name=f"Base {index:05d}", actor=actor)
                      for index in range(args.baseline_users)]
    base_users_seconds = time.perf_counter() - start
    principals = list(Principal.objects.filter(user__in=baseline_users).order_by("pk"))
    start = time.perf_counter()
    base_added = 0
    for index, principal in enumerate(principals):
        for group in (groups[index % len(groups)], groups[(index + 1) % len(groups)]):
            if assignment_services.membership_directory_add(group=group, member=principal, actor=actor):
                base_added += 1
    base_members_seconds = time.perf_counter() - start
    base_user_ms = base_users_seconds / args.baseline_users * 1000
    base_member_ms = base_members_seconds / base_added * 1000
    scim_user_ms = users_seconds / scim_users * 1000
    scim_member_ms = members_seconds / added * 1000
    log(f"baseline (services directly): user_create {base_user_ms:.2f} ms/user, membership_directory_add "
        f"{base_member_ms:.2f} ms/membership ({args.baseline_users} users, {base_added} memberships)")
    log(f"ratio SCIM / services: users x{scim_user_ms / base_user_ms:.2f}, memberships "
        f"x{scim_member_ms / base_member_ms:.2f}")

    # 3. lists with a filter at this size, against a plain indexed SELECT.
    middle = args.users // 2
    probe = f"user{middle:05d}@contoso.example"
    member = user_ids[middle % len(user_ids)]
    def q(text: str) -> str:
        return quote(text)

    prefix = f"user{middle // 10:04d}"
    lists = [
        ("userName eq", "Users?filter=" + q(f'userName eq "{probe}"'),
         "SELECT id FROM assignments_user WHERE username = %s", [probe]),
        ("userName sw (10 matches)", "Users?filter=" + q(f'userName sw "{prefix}"'),
         "SELECT id FROM assignments_user WHERE username LIKE %s ORDER BY id LIMIT 100", [prefix + "%"]),
        ("emails co", "Users?filter=" + q(f'emails co "{probe}"'),
         "SELECT id FROM assignments_user WHERE email = %s", [probe]),
        ("externalId eq", "Users?filter=" + q(f'externalId eq "ext-{middle:05d}"'),
         "SELECT id FROM assignments_principal WHERE external_source = %s AND external_id = %s",
         [client.source, f"ext-{middle:05d}"]),
        ("Groups members eq (excludedAttributes=members)",
         "Groups?excludedAttributes=members&filter=" + q(f'members eq "{member}"'),
         "SELECT a.id FROM assignments_assignment a JOIN assignments_principal p ON p.id = a.principal_id "
         "WHERE p.object_id = %s", [member]),
        (f"Users page at startIndex={args.users - 99}, count=100", f"Users?startIndex={args.users - 99}&count=100",
         "SELECT id FROM assignments_user ORDER BY id LIMIT 100 OFFSET %s", [args.users - 100]),
    ]
    log(f"lists at {len(user_ids)} users / {args.groups} groups / {total_memberships} memberships "
        f"(median of {args.runs}):")
    for label, path, sql, params in lists:
        def scim_list(path=path):
            status, body = scim.call("GET", path)
            assert status == 200, body

        def plain(sql=sql, params=params):
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                cursor.fetchall()

        scim_ms, scim_queries = timed(scim_list, args.runs)
        plain_ms, _ = timed(plain, args.runs)
        log(f"  {label}: SCIM {scim_ms:.2f} ms ({scim_queries} queries) vs plain SELECT {plain_ms:.3f} ms "
            f"= x{scim_ms / plain_ms:.0f}")


if __name__ == "__main__":
    main()
