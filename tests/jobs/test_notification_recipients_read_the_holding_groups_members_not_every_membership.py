"""The recipients of a notice (the role's administrators, the fallback approvers, named approver groups)
are found through the groups that hold the role: the query reads those groups' memberships, not every
membership of the directory. At 1 M assignments (100 k memberships) the old shape, `pk IN holders OR pk
IN members-of-any-holding-group`, hashed every membership and scanned every principal on each
activation (220 ms of a 380 ms activation).

PostgreSQL only: the plan is what matters. The test tables are small, so sequential scans and hash and
merge joins are turned off for the statement (at production sizes the planner avoids them on its own for
a shape that allows it); then the rows read from the assignments and principals tables must not grow with
the members of groups that hold nothing. The named-approvers case guards the same shape for groups named
in a policy."""

import json
from datetime import timedelta

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from assignments import access
from assignments.models import Assignment, Principal, Scope, User
from notifications.recipients import approvers_emails, holders_emails

BYSTANDER_MEMBERSHIPS = 5000


def _bystander_memberships(directory, count):
    """`count` users who are members of groups that hold no role (arrangement: bulk rows)."""
    now = timezone.now()
    groups = [directory.group() for _ in range(3)]
    users = User.objects.bulk_create(
        [User(username=f"bystander{i}", email=f"bystander{i}@example.com", password="!") for i in range(count)])
    people = Principal.objects.bulk_create(
        [Principal(kind=Principal.Kind.USER, user=user, display_name=user.username) for user in users])
    member = directory.role("group-member")
    Assignment.objects.bulk_create(
        [Assignment(principal=p, role=member, scope=groups[i % 3].group_scope, kind="active",
                    start_at=now - timedelta(days=1), created_at=now) for i, p in enumerate(people)])


def _rows_read(sql: str, params=None, *, distinct_roles: int | None = None) -> dict[str, int]:
    """Rows the statement's plan took from each table (every scan node, all loops), with nested loops
    over indexes only: the plans PostgreSQL picks at production sizes, where scanning is out of reach.
    `distinct_roles` pins the planner's count of distinct roles among assignments (as when almost every
    row is a membership): the estimate that made CI's plan read every live row by start time."""
    with transaction.atomic(), connection.cursor() as cursor:
        for method in ("seqscan", "hashjoin", "mergejoin"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        if distinct_roles is not None:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE refuses pending deferred checks
            cursor.execute(f"ALTER TABLE {Assignment._meta.db_table} ALTER COLUMN role_id "
                           f"SET (n_distinct = {int(distinct_roles)})")  # rolled back with the test
        for model in (Assignment, Principal, User, Scope):
            # Compact indexes and fresh statistics, as a production database keeps them.
            cursor.execute(f"REINDEX TABLE {model._meta.db_table}")
            cursor.execute(f"ANALYZE {model._meta.db_table}")
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    read: dict = {}

    def walk(node):
        if "Relation Name" in node:
            table = node["Relation Name"]
            read[table] = read.get(table, 0) + node["Actual Rows"] * node["Actual Loops"]
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    read["plan"] = _plan_outline(plan[0]["Plan"])  # shown when the assertion fails: which path read what
    return read


def _plan_outline(node, depth=0) -> str:
    line = "  " * depth + f"{node['Node Type']} {node.get('Relation Name', '')} {node.get('Index Name', '')}".rstrip()
    line += f" rows={node.get('Actual Rows')}x{node.get('Actual Loops')}"
    return "\n".join([line, *(_plan_outline(child, depth + 1) for child in node.get("Plans", []))])


def _assert_reads_no_bystanders(statement) -> None:
    for distinct_roles in (None, 2):  # the statistics ANALYZE gives, and those of a membership-heavy table
        read = _rows_read(*statement, distinct_roles=distinct_roles)
        assert read.get(Assignment._meta.db_table, 0) < 50, f"reads memberships of groups that hold nothing: {read}"
        assert read.get(Principal._meta.db_table, 0) < 50, f"reads principals that hold nothing: {read}"


def _statement_on_assignments(call, monkeypatch):
    """The result of `call` and the one statement it ran that reads assignments, with its parameters
    (the set-based access queries are prepared statements: their parameters are not in the query log)."""
    prepared = []
    fetch = getattr(access, "_fetch", None)

    def recording(sql, params, **kwargs):
        prepared.append((sql, params))
        return fetch(sql, params, **kwargs)

    monkeypatch.setattr(access, "_fetch", recording, raising=False)
    with CaptureQueriesContext(connection) as queries:
        result = call()
    logged = [(q["sql"], None) for q in queries.captured_queries
              if Assignment._meta.db_table in q["sql"] and "%(" not in q["sql"]]
    reads = prepared + logged
    assert len(reads) == 1, reads
    return result, reads[0]


def test_administrators_are_found_through_the_groups_that_hold_the_role(directory, postgres, monkeypatch):
    admins = directory.group(role_assignable=True)
    alice, bob = directory.user("alice"), directory.user("bob")
    directory.add_member(admins, alice)
    directory.grant(admins, "privileged-role-administrator")
    directory.grant(bob, "global-administrator")
    _bystander_memberships(directory, BYSTANDER_MEMBERSHIPS)

    emails, statement = _statement_on_assignments(lambda: holders_emails(
        role_slugs=["global-administrator", "privileged-role-administrator"], scope=directory.root), monkeypatch)

    assert emails == ["alice@example.com", "bob@example.com"]
    _assert_reads_no_bystanders(statement)


def test_named_approver_groups_are_expanded_through_their_own_memberships(directory, policy, postgres,
                                                                         monkeypatch):
    approvers = directory.group()
    carol = directory.user("carol")
    directory.add_member(approvers, carol)
    setting = policy("helpdesk-administrator", require_approval=True, approvers=[approvers])
    _bystander_memberships(directory, BYSTANDER_MEMBERSHIPS)
    role, root = directory.role("helpdesk-administrator"), Scope.objects.get(path="/")

    emails, statement = _statement_on_assignments(
        lambda: approvers_emails(setting=setting, role=role, scope=root), monkeypatch)

    assert emails == ["carol@example.com"]
    _assert_reads_no_bystanders(statement)
