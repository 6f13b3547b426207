"""Scratch databases for the benches: each bench takes the name as an option (`--db`) and never drops
a database it did not create.

A bench creates its database with `create(name, bench=...)`, which also creates the marker table
`pim_bench_scratch` naming that bench. `drop(name, bench=...)` drops only a database whose marker names
the same bench, so a name that happens to be a real database (someone's `pim` or `test`), or another
bench's, is refused at the start and never dropped at the end. A database an earlier run of the same
bench left (`--keep-db`) carries its marker: `create` refuses it unless `replace=True`, and the
`--reuse-db` benches use it as it is.
"""

import os

PG = os.environ.get("PIM_BENCH_PG", "postgres://postgres@127.0.0.1:5432")
MARKER = "pim_bench_scratch"


class NotOurs(RuntimeError):
    """The database exists and was not made by a bench."""


def _admin(sql: str, params=None):
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else None


def _quoted(name: str) -> str:
    if not name or '"' in name or "\x00" in name or len(name) > 63:
        raise ValueError(f"not a usable database name: {name!r}")
    return f'"{name}"'


def exists(name: str) -> bool:
    return bool(_admin("SELECT 1 FROM pg_database WHERE datname = %s", [name]))


def made_by(name: str, bench: str) -> bool:
    """Was `name` created by the bench `bench` (its marker row says so)?"""
    import psycopg

    try:
        with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
            if not conn.execute("SELECT to_regclass(%s) IS NOT NULL", [MARKER]).fetchone()[0]:
                return False
            return bool(conn.execute(f"SELECT 1 FROM {MARKER} WHERE bench = %s", [bench]).fetchone())  # noqa: S608
    except psycopg.OperationalError:
        return False


def create(name: str, *, bench: str, replace: bool = False) -> None:
    """Create `name` with the marker of `bench`. An existing database is refused (NotOurs) unless this
    bench made it and `replace` is set; then it is dropped and made again."""
    if exists(name):
        if not made_by(name, bench):
            raise NotOurs(f"database {name!r} exists and was not made by {bench}: choose another --db")
        if not replace:
            raise NotOurs(f"database {name!r} was left by an earlier run of {bench}: pass --reuse-db to use it, "
                          f"or drop it (`dropdb {name}`)")
        drop(name, bench=bench)
    _admin(f"CREATE DATABASE {_quoted(name)}")
    import psycopg

    with psycopg.connect(f"{PG}/{name}", autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {MARKER} (bench text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
        conn.execute(f"INSERT INTO {MARKER} (bench) VALUES (%s)", [bench])  # noqa: S608


def drop(name: str, *, bench: str) -> bool:
    """Drop `name` if `bench` made it; True when dropped. Anything else is left alone."""
    if not exists(name) or not made_by(name, bench):
        return False
    _admin(f"DROP DATABASE IF EXISTS {_quoted(name)} WITH (FORCE)")
    return True


def reusable(name: str, *, bench: str) -> bool:
    """Does `name` exist and carry the marker of `bench` (a database an earlier run kept)?"""
    return exists(name) and made_by(name, bench)
