"""The access check: one SQL statement per decision, over committed state, with time predicates.

A role is held by principal P at scope S at time T when there is a live *active* assignment of that
role, at S or an ancestor of S, starting at or before T and ending after T (or never), to P itself
or to a group P is an active Member of at T. Group membership is itself an assignment (the Member
role at the group's scope), so one mechanism covers users, groups and PIM for Groups.

Ancestors come from the closure table; group memberships from the same index the main lookup
uses. No background job is involved: an activation counts from its commit and not one
microsecond past its `end_at`.

The statement is written in SQL (not the ORM) so that its shape — a UNION for "P or P's groups" —
stays index-friendly on PostgreSQL at millions of rows; it runs unchanged on SQLite.
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import connection
from django.utils import timezone

from .batches import PrincipalRow
from .models import Assignment, Principal, RoleDefinition, RolePermission, Scope, ScopeClosure, User

A = Assignment._meta.db_table
P = Principal._meta.db_table
R = RoleDefinition._meta.db_table
RP = RolePermission._meta.db_table
S = Scope._meta.db_table
C = ScopeClosure._meta.db_table
U = User._meta.db_table


@dataclass(frozen=True)
class Grant:
    """The assignment that grants a decision, and when it ends (None: permanent)."""

    assignment_id: int
    principal_id: int
    role_id: int
    scope_id: int
    end_at: datetime | None
    via_group_id: int | None

    @property
    def is_permanent(self) -> bool:
        return self.end_at is None


def _held(alias: str) -> str:
    # The ORM spelling of this predicate, for set-based reads, is `models.held_at_q`; the property test
    # tests/test_access_check_agrees_with_a_naive_reference.py holds both to one reference.
    return (
        f"{alias}.status = 'live' AND {alias}.start_at <= %(at)s "
        f"AND ({alias}.end_at IS NULL OR {alias}.end_at > %(at)s)"
    )


def _scope_ancestors_sql(by_path: bool) -> str:
    if by_path:
        return (
            f"SELECT c.ancestor_id FROM {C} c JOIN {S} ds ON ds.id = c.descendant_id "
            f"WHERE ds.path = %(scope)s"
        )
    return f"SELECT c.ancestor_id FROM {C} c WHERE c.descendant_id = %(scope)s"


def _principals_sql() -> str:
    """P itself, and every group P is an active Member of at T (enabled groups only)."""
    return f"""
        SELECT CAST(%(principal)s AS BIGINT)
        UNION ALL
        SELECT gs.group_id FROM {A} m
          JOIN {S} gs ON gs.id = m.scope_id
          JOIN {P} gp ON gp.id = gs.group_id AND gp.enabled = %(true)s
        WHERE m.principal_id = %(principal)s
          AND m.role_id = (SELECT id FROM {R} WHERE slug = %(member_slug)s)
          AND m.kind = 'active' AND {_held('m')}
    """


def _roles_by_action_sql() -> str:
    """Roles with an action pattern matching the action and no NotAction pattern matching it."""
    return f"""
        SELECT ok.role_id FROM {RP} ok
        WHERE ok.is_not_action = %(false)s AND %(action)s LIKE ok.like_pattern ESCAPE '\\'
          AND NOT EXISTS (
            SELECT 1 FROM {RP} nok
            WHERE nok.role_id = ok.role_id AND nok.is_not_action = %(true)s
              AND %(action)s LIKE nok.like_pattern ESCAPE '\\')
    """


def _decide(
    *,
    principal_id: int,
    scope: Scope | str | int,
    at: datetime | None,
    kind: str,
    role_slugs: list[str] | None = None,
    role_ids: list[int] | None = None,
    action: str | None = None,
) -> Grant | None:
    at = at or timezone.now()
    by_path = isinstance(scope, str)
    scope_param = scope if by_path else getattr(scope, "pk", scope)
    params = {
        "principal": principal_id,
        "scope": scope_param,
        "at": connection.ops.adapt_datetimefield_value(at),
        "kind": kind,
        "member_slug": RoleDefinition.GROUP_MEMBER,
        "true": True,
        "false": False,
    }
    if action is not None:
        role_filter = f"a.role_id IN ({_roles_by_action_sql()})"
        params["action"] = action.lower()
    elif role_ids is not None:
        names = []
        for index, role_id in enumerate(role_ids):
            params[f"role{index}"] = role_id
            names.append(f"%(role{index})s")
        role_filter = f"a.role_id IN ({', '.join(names) or 'NULL'})"
    else:
        names = []
        for index, slug in enumerate(role_slugs or []):
            params[f"slug{index}"] = slug
            names.append(f"%(slug{index})s")
        role_filter = f"a.role_id IN (SELECT id FROM {R} WHERE slug IN ({', '.join(names) or 'NULL'}))"
    sql = f"""
        SELECT a.id, a.principal_id, a.role_id, a.scope_id, a.end_at
        FROM {A} a
        JOIN {P} ap ON ap.id = a.principal_id AND ap.enabled = %(true)s
        WHERE a.kind = %(kind)s AND {_held('a')}
          AND {role_filter}
          AND a.scope_id IN ({_scope_ancestors_sql(by_path)})
          AND a.principal_id IN ({_principals_sql()})
          AND EXISTS (SELECT 1 FROM {P} me WHERE me.id = %(principal)s AND me.enabled = %(true)s)
        ORDER BY CASE WHEN a.end_at IS NULL THEN 0 ELSE 1 END, a.end_at DESC
        LIMIT 1
    """
    row = _fetch_one(sql, params)
    if row is None:
        return None
    end_at = row[4]
    if end_at is not None and not isinstance(end_at, datetime):
        end_at = connection.ops.convert_datetimefield_value(end_at, None, connection)  # SQLite returns text
    if isinstance(end_at, datetime) and timezone.is_naive(end_at):
        end_at = timezone.make_aware(end_at, UTC)
    return Grant(
        assignment_id=row[0],
        principal_id=row[1],
        role_id=row[2],
        scope_id=row[3],
        end_at=end_at,
        via_group_id=row[1] if row[1] != principal_id else None,
    )


def _fetch_one(sql: str, params: dict):
    """Run the decision. On PostgreSQL, as a prepared statement: the statement is planned once per
    connection, which is most of its cost (planning ~10× execution for this shape). Django keeps
    prepared statements off by default (for poolers), so this cursor asks for one explicitly."""
    rows = _fetch(sql, params, one=True)
    return rows[0] if rows else None


def _fetch(sql: str, params: dict, *, one: bool = False) -> list:
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone() if one else None
            return ([row] if row is not None else []) if one else cursor.fetchall()
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg.types.numeric import Int8

    typed = {key: Int8(value) if isinstance(value, int) and not isinstance(value, bool) else value
             for key, value in params.items()}  # one parameter type → one prepared statement
    connection.ensure_connection()
    started = time.monotonic()
    with connection.wrap_database_errors, ServerBindingCursor(connection.connection) as cursor:
        cursor.execute(sql, typed, prepare=True)
        if one:
            row = cursor.fetchone()
            rows = [row] if row is not None else []
        else:
            rows = cursor.fetchall()
    if connection.queries_logged:  # keep the decision visible to Django's query log and query counters
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return rows


def principal_id_of(who) -> int:
    """Accept a Principal, a User (its principal) or a principal id."""
    if isinstance(who, int):
        return who
    if isinstance(who, Principal):
        return who.pk
    return who.principal.pk


def access_find_grant(
    *, principal, role: RoleDefinition | str | int, scope: Scope | str | int, at: datetime | None = None
) -> Grant | None:
    """Is `principal` active in `role` (instance, slug or id) at `scope` (or an ancestor) at `at`?"""
    kwargs = {}
    if isinstance(role, RoleDefinition):
        kwargs["role_ids"] = [role.pk]
    elif isinstance(role, int):
        kwargs["role_ids"] = [role]
    else:
        kwargs["role_slugs"] = [role]
    return _decide(principal_id=principal_id_of(principal), scope=scope, at=at, kind="active", **kwargs)


def access_has_any_role(
    *, principal, role_slugs: list[str], scope: Scope | str | int, at: datetime | None = None
) -> bool:
    """One query: does `principal` hold any of these roles at `scope` (or above) now?"""
    return (
        _decide(principal_id=principal_id_of(principal), scope=scope, at=at, kind="active", role_slugs=role_slugs)
        is not None
    )


def access_find_permission_grant(
    *, principal, action: str, scope: Scope | str | int, at: datetime | None = None
) -> Grant | None:
    """May `principal` perform `action` at `scope` at `at`? Returns the granting assignment."""
    return _decide(principal_id=principal_id_of(principal), scope=scope, at=at, kind="active", action=action)


def access_find_eligibility(
    *, principal, role: RoleDefinition | int, scope: Scope | str | int, at: datetime | None = None
) -> Grant | None:
    """Is `principal` eligible (directly or through a group) for `role` at `scope` at `at`?"""
    role_id = role.pk if isinstance(role, RoleDefinition) else role
    return _decide(principal_id=principal_id_of(principal), scope=scope, at=at, kind="eligible", role_ids=[role_id])


def access_role_holders(*, role_slugs: list[str], scope: Scope | str | int, at: datetime | None = None
                        ) -> list[PrincipalRow]:
    """The enabled principals holding any of `role_slugs` at `scope` (or above) at `at`, directly or as
    enabled active members at `at` of an enabled group that holds one: every principal the access
    check would grant, with what deciding its email address needs (`assignments.batches.PrincipalRow`).
    The set form of the decision above, in one statement (prepared on PostgreSQL, like the decision:
    planning it costs more than running it). Members are looked up through the holding groups' scopes on the
    (role, scope) index, so the cost follows the holders, not the directory's memberships."""
    at = at or timezone.now()
    by_path = isinstance(scope, str)
    params = {
        "scope": scope if by_path else getattr(scope, "pk", scope),
        "at": connection.ops.adapt_datetimefield_value(at),
        "member_slug": RoleDefinition.GROUP_MEMBER,
        "true": True,
    }
    names = []
    for index, slug in enumerate(role_slugs):
        params[f"slug{index}"] = slug
        names.append(f"%(slug{index})s")
    member_filter = (f"m.role_id = (SELECT id FROM {R} WHERE slug = %(member_slug)s) "
                     f"AND m.kind = 'active' AND {_held('m')}")
    direct_filter = f"a.kind = 'active' AND {_held('a')}"
    if connection.vendor == "postgresql":
        # One index probe (role, scope) per holding group's scope: LATERAL makes the group's scope a
        # parameter of the membership lookup, so no plan reads the memberships of every group.
        members = (f"CROSS JOIN LATERAL (SELECT m.principal_id FROM {A} m WHERE m.scope_id = gs.id "
                   f"AND {member_filter}) m")
        # The direct holders the same way: one probe per (role, ancestor scope) pair. Joined plainly,
        # the planner sizes "assignments of one of these roles" from the table's distinct roles; where
        # memberships are most rows (there are few distinct roles) it reads every live row by start
        # time instead, and filters them by role (seen on CI with 5,000 memberships). OFFSET 0 keeps the
        # planner from pulling the subquery up into that same join.
        direct = (f"FROM {R} r CROSS JOIN ({_scope_ancestors_sql(by_path)}) anc "
                  f"CROSS JOIN LATERAL (SELECT a.principal_id FROM {A} a WHERE a.role_id = r.id "
                  f"AND a.scope_id = anc.ancestor_id AND {direct_filter} OFFSET 0) a")
    else:
        members = f"JOIN {A} m ON m.scope_id = gs.id AND {member_filter}"
        direct = (f"FROM {R} r JOIN {A} a ON a.role_id = r.id AND {direct_filter} "
                  f"AND a.scope_id IN ({_scope_ancestors_sql(by_path)})")
    sql = f"""
        WITH direct AS (
            SELECT a.principal_id AS id {direct}
            JOIN {P} ap ON ap.id = a.principal_id AND ap.enabled = %(true)s
            WHERE r.slug IN ({', '.join(names) or 'NULL'})
        ), holders AS (
            SELECT id FROM direct
            UNION
            SELECT m.principal_id FROM {S} gs
            JOIN {P} g ON g.id = gs.group_id AND g.enabled = %(true)s
            {members}
            JOIN {P} mp ON mp.id = m.principal_id AND mp.enabled = %(true)s
            WHERE gs.group_id IN (SELECT id FROM direct)
        )
        SELECT p.id, p.kind, p.display_name, p.email, u.email, u.is_active, u.is_emergency_access, p.enabled
        FROM {P} p LEFT JOIN {U} u ON u.id = p.user_id
        WHERE p.id IN (SELECT id FROM holders)
    """
    return [PrincipalRow(pk, kind, name, email, user_email, _bool(active), _bool(emergency), bool(enabled))
            for pk, kind, name, email, user_email, active, emergency, enabled in _fetch(sql, params)]


def _bool(value) -> bool | None:
    return None if value is None else bool(value)  # SQLite answers 0 / 1


def ids_in_sql(params: dict, name: str, ids) -> str:
    """`IN (…)` of integer ids as SQL for a `%(name)s` query, the values added to `params`. On PostgreSQL
    `= ANY(%(name)s)`, the ids as one array parameter: the statement's text stays the same size whatever
    the number of ids, so the driver does not parse thousands of placeholders (a sweep batch names a
    couple of thousand scopes, and splitting those cost more than the query itself)."""
    ids = [int(value) for value in ids]
    if connection.vendor == "postgresql":
        params[name] = ids
        return f"= ANY(%({name})s)"
    names = []
    for index, value in enumerate(ids):
        params[f"{name}{index}"] = value
        names.append(f"%({name}{index})s")
    return f"IN ({', '.join(names) or 'NULL'})"


def access_role_holders_by_scope(*, role_slugs: list[str], scope_ids, at: datetime | None = None
                                 ) -> tuple[dict[int, list[int]], dict[int, list[PrincipalRow]]]:
    """`access_role_holders` for many scopes at once, in two statements: (scope id → its ancestors'
    ids, itself included), and (scope id where a role is assigned → the principals holding one of
    `role_slugs` through that assignment at `at`: enabled holders, and the enabled active members of
    an enabled holding group). The holders at a scope are the union over its ancestors. For set-based
    work (the expiry sweep's notices): the cost follows the scopes and holders of the batch, not the
    number of rows."""
    at = at or timezone.now()
    scope_ids = sorted({int(s) for s in scope_ids})
    if not scope_ids or not role_slugs:
        return {}, {}
    params: dict = {"at": connection.ops.adapt_datetimefield_value(at), "member_slug": RoleDefinition.GROUP_MEMBER,
                    "true": True}
    scopes_in = ids_in_sql(params, "s", scope_ids)
    slugs = []
    for index, slug in enumerate(role_slugs):
        params[f"slug{index}"] = slug
        slugs.append(f"%(slug{index})s")
    member_filter = (f"m.role_id = (SELECT id FROM {R} WHERE slug = %(member_slug)s) "
                     f"AND m.kind = 'active' AND {_held('m')}")
    if connection.vendor == "postgresql":  # one (role, scope) probe per holding group, as above
        members = (f"CROSS JOIN LATERAL (SELECT m.principal_id FROM {A} m WHERE m.scope_id = gs.id "
                   f"AND {member_filter}) m")
    else:
        members = f"JOIN {A} m ON m.scope_id = gs.id AND {member_filter}"
    ancestors: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT descendant_id, ancestor_id FROM {C} WHERE descendant_id {scopes_in}",  # noqa: S608
                       params)
        for descendant, ancestor in cursor.fetchall():
            ancestors.setdefault(descendant, []).append(ancestor)
        sql = f"""
            WITH direct AS (
                SELECT a.scope_id AS at_scope, a.principal_id AS id FROM {A} a
                JOIN {P} ap ON ap.id = a.principal_id AND ap.enabled = %(true)s
                WHERE a.kind = 'active' AND {_held('a')}
                  AND a.role_id IN (SELECT id FROM {R} WHERE slug IN ({', '.join(slugs)}))
                  AND a.scope_id IN (SELECT ancestor_id FROM {C} WHERE descendant_id {scopes_in})
            ), holders AS (
                SELECT at_scope, id FROM direct
                UNION
                SELECT d.at_scope, m.principal_id FROM direct d
                JOIN {S} gs ON gs.group_id = d.id
                JOIN {P} g ON g.id = gs.group_id AND g.enabled = %(true)s
                {members}
                JOIN {P} mp ON mp.id = m.principal_id AND mp.enabled = %(true)s
            )
            SELECT h.at_scope, p.id, p.kind, p.display_name, p.email, u.email, u.is_active, u.is_emergency_access,
                   p.enabled
            FROM holders h JOIN {P} p ON p.id = h.id LEFT JOIN {U} u ON u.id = p.user_id
        """  # noqa: S608 — table names from model metadata, values as parameters
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    held: dict[int, list[PrincipalRow]] = {}
    for at_scope, pk, kind, name, email, user_email, active, emergency, enabled in rows:
        held.setdefault(at_scope, []).append(
            PrincipalRow(pk, kind, name, email, user_email, _bool(active), _bool(emergency), bool(enabled)))
    return ancestors, held
