"""PostgreSQL roles (psycopg).

A mapping's grant is a role name; granting runs `GRANT "role" TO "login"`, revoking `REVOKE "role" FROM
"login"` and, when the mapping says `terminate_sessions`, ends that login's open sessions
(`pg_terminate_backend`), since a revoked role stays in effect for a session that has already `SET ROLE`.
The login of a PIM user comes from a template (`{username}`, `app_{username}`). The portal connects as a
role allowed to grant the mapped roles (CREATEROLE or ADMIN OPTION) and, for terminations,
pg_signal_backend.

Errors: a refused login or password, an unknown role or login, missing privileges are refusals; a
server that cannot be reached or is shutting down is retried.
"""

import re
from collections.abc import Iterable

from core.errors import invalid

from .base import ConfigField, ConnectorKind, ConnectorRefused, ConnectorUnavailable, Holder, Session

ROLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$.@-]{0,62}$")

MEMBERS_SQL = """
    SELECT m.rolname FROM pg_auth_members am
    JOIN pg_roles r ON r.oid = am.roleid JOIN pg_roles m ON m.oid = am.member
    WHERE r.rolname = %s
"""


class PostgresSession(Session):
    def __init__(self, *, config: dict, secret: str):
        self.config = config
        self.secret = secret
        self.conn = None

    def _connect(self):
        if self.conn is not None:
            return self.conn
        import psycopg

        c = self.config
        try:
            self.conn = psycopg.connect(host=c["host"], port=c["port"], dbname=c["dbname"], user=c["user"],
                                        password=self.secret or None, sslmode=c.get("sslmode") or "prefer",
                                        connect_timeout=c.get("timeout_seconds") or 10, autocommit=True,
                                        application_name="pim-portal-connector")
        except psycopg.OperationalError as error:
            text = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
            if any(word in str(error) for word in ("password authentication failed", "does not exist",
                                                   "no pg_hba.conf entry", "permission denied")):
                raise ConnectorRefused(f"PostgreSQL refused the login: {text}") from error
            raise ConnectorUnavailable(f"Could not connect to PostgreSQL at {c['host']}:{c['port']}: {text}") from error
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # noqa: BLE001, S110 — closing a broken connection
                pass
            self.conn = None

    def _run(self, what: str, sql, params=()):
        import psycopg
        from psycopg import errors

        conn = self._connect()
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        except (errors.UndefinedObject, errors.InsufficientPrivilege, errors.InvalidGrantOperation,
                errors.InvalidParameterValue) as error:
            raise ConnectorRefused(f"PostgreSQL refused the {what}: {error.diag.message_primary or error}") from error
        except psycopg.OperationalError as error:
            self.close()
            raise ConnectorUnavailable(f"PostgreSQL {what} failed: {error}") from error
        except psycopg.Error as error:
            self.close()
            raise ConnectorUnavailable(f"PostgreSQL {what} failed: {error}") from error

    def _role_exists(self, name: str) -> bool:
        return bool(self._run("lookup", "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)))

    def _is_member(self, account: str, grant: str) -> bool:
        return bool(self._run("lookup", MEMBERS_SQL + " AND m.rolname = %s", (grant, account)))

    def test(self) -> str:
        rows = self._run("test", "SELECT current_user, version()")
        user, version = rows[0]
        return f"Connected as {user} ({version.split(',')[0]})."

    def check_grant(self, grant: str) -> str:
        if not self._role_exists(grant):
            raise ConnectorRefused(f"PostgreSQL role {grant!r} does not exist.")
        return f"Role {grant} exists."

    def account_for(self, username: str) -> str:
        login = self.config["login_template"].replace("{username}", username)
        if not ROLE_NAME.match(login):
            raise ConnectorRefused(f"{login!r} is not a PostgreSQL login name this connector uses.")
        return login

    def grant(self, *, account: str, grant: str, options: dict) -> str:
        from psycopg import sql

        if self._is_member(account, grant):
            return f"{account} already a member of {grant}"
        for name, what in ((grant, "role"), (account, "login")):
            if not self._role_exists(name):
                raise ConnectorRefused(f"PostgreSQL {what} {name!r} does not exist.")
        self._run("grant", sql.SQL("GRANT {} TO {}").format(sql.Identifier(grant), sql.Identifier(account)))
        return f"granted {grant} to {account}"

    def revoke(self, *, account: str, grant: str, options: dict) -> str:
        from psycopg import sql

        if not self._role_exists(account) or not self._is_member(account, grant):
            detail = f"{account} was not a member of {grant}"
        else:
            self._run("revoke", sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(grant), sql.Identifier(account)))
            if self._is_member(account, grant):
                # PostgreSQL 16 records each grantor: revoke what others granted, too.
                for (grantor,) in self._run("lookup", """
                        SELECT g.rolname FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid
                        JOIN pg_roles m ON m.oid = am.member JOIN pg_roles g ON g.oid = am.grantor
                        WHERE r.rolname = %s AND m.rolname = %s""", (grant, account)):
                    self._run("revoke", sql.SQL("REVOKE {} FROM {} GRANTED BY {}").format(
                        sql.Identifier(grant), sql.Identifier(account), sql.Identifier(grantor)))
                if self._is_member(account, grant):
                    raise ConnectorRefused(f"{account} still holds {grant} after REVOKE (granted by someone the "
                                           f"connector's role may not revoke for).")
            detail = f"revoked {grant} from {account}"
        if options.get("terminate_sessions"):
            rows = self._run("session termination",
                             "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                             "WHERE usename = %s AND pid <> pg_backend_pid()", (account,))
            detail += f"; {rows[0][0]} session(s) terminated"
        return detail

    def holders(self, grant: str) -> Iterable[Holder]:
        if not self._role_exists(grant):
            raise ConnectorRefused(f"PostgreSQL role {grant!r} does not exist.")
        prefix, _, suffix = self.config["login_template"].partition("{username}")
        holders = []
        for (login,) in self._run("read", MEMBERS_SQL, (grant,)):
            username = None
            if login.startswith(prefix) and login.endswith(suffix) and len(login) > len(prefix) + len(suffix):
                username = login[len(prefix): len(login) - len(suffix)]
            holders.append(Holder(account=login, username=username))
        return holders


class PostgresKind(ConnectorKind):
    def check_config(self, config: dict) -> None:
        if not 0 < config["port"] < 65536:
            raise invalid("The port is between 1 and 65535.", field="port")
        if config["login_template"].count("{username}") != 1:
            raise invalid("The login template contains {username} once.", field="login_template")
        if config["sslmode"] not in {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}:
            raise invalid("SSL mode: disable, allow, prefer, require, verify-ca or verify-full.", field="sslmode")

    def clean_grant(self, grant: str) -> str:
        grant = (grant or "").strip()
        if not ROLE_NAME.match(grant):
            raise invalid("A PostgreSQL role name: letters, digits and _ (at most 63 characters).", field="grant")
        return grant

    def open(self, *, config: dict, secret: str) -> Session:
        return PostgresSession(config=config, secret=secret)


POSTGRESQL = PostgresKind(
    key="postgresql",
    label="PostgreSQL role",
    fields=(
        ConfigField("host", "Host", "db.example.org"),
        ConfigField("port", "Port", kind="int", default=5432),
        ConfigField("dbname", "Database", "Any database of the cluster: roles are cluster-wide.", default="postgres"),
        ConfigField("user", "Connect as", "A role with CREATEROLE (or ADMIN OPTION on the mapped roles)."),
        ConfigField("sslmode", "SSL mode", "require or verify-full in production", default="prefer"),
        ConfigField("login_template", "Login template", "{username} or a pattern such as app_{username}",
                    default="{username}"),
        ConfigField("timeout_seconds", "Timeout (seconds)", required=False, kind="int", default=10),
    ),
    secret_label="Password",
    grant_label="PostgreSQL role",
    grant_help="db_owner",
    option_fields=(ConfigField("terminate_sessions", "Terminate the login's sessions on revoke", required=False,
                               kind="bool", default=False),),
)
