"""Real targets for the connector tests: a slapd started per test on a free loopback port
(tests/slapd.py, the server the directory sync tests read too), and the machine's PostgreSQL server
with a scratch database and login roles per test (dropped afterwards). The outbox relay runs in-process."""

import os
import secrets
import uuid

import pytest
from django.utils import timezone

from core.actors import Actor
from tests import slapd as slapd_module
from tests.conftest import _missing

SETUP = Actor.system("test-setup")
PG = {"host": os.environ.get("PIM_CONNECTOR_PG_HOST", "127.0.0.1"),
      "port": int(os.environ.get("PIM_CONNECTOR_PG_PORT", "5432")),
      "user": os.environ.get("PIM_CONNECTOR_PG_USER", "postgres")}


@pytest.fixture
def slapd():
    """An empty directory (people and groups) to grant in."""
    server = slapd_module.start_slapd(slapd_module.ldif_for(users=[], groups=[], placeholder=True))
    yield server
    slapd_module.stop_slapd(server)


class ScratchPostgres:
    """A scratch database and uniquely named roles on the machine's PostgreSQL server."""

    def __init__(self):
        import psycopg

        self.tag = "pimt" + secrets.token_hex(4)
        self.dbname = f"{self.tag}_db"
        self.roles: list[str] = []
        try:
            self.admin = psycopg.connect(**PG, dbname="postgres", autocommit=True, connect_timeout=3)
        except psycopg.OperationalError as error:
            _missing(f"needs a PostgreSQL server at {PG['host']}:{PG['port']}: {error}")
        self.admin.execute(f'CREATE DATABASE "{self.dbname}"')

    def role(self, name: str, *, login: bool = False) -> str:
        full = f"{self.tag}_{name}"
        self.admin.execute(f'CREATE ROLE "{full}" {"LOGIN" if login else "NOLOGIN"}')
        self.roles.append(full)
        return full

    def login(self, username: str) -> str:
        return self.role(f"u_{username}", login=True)

    def members(self, role: str) -> set[str]:
        rows = self.admin.execute(
            "SELECT m.rolname FROM pg_auth_members am JOIN pg_roles r ON r.oid = am.roleid "
            "JOIN pg_roles m ON m.oid = am.member WHERE r.rolname = %s", (role,)).fetchall()
        return {row[0] for row in rows}

    def grant_by_hand(self, role: str, login: str) -> None:
        self.admin.execute(f'GRANT "{role}" TO "{login}"')

    def target_config(self, **overrides) -> dict:
        return {"host": PG["host"], "port": PG["port"], "dbname": self.dbname, "user": PG["user"],
                "sslmode": "disable", "login_template": f"{self.tag}_u_{{username}}", "timeout_seconds": 3,
                **overrides}

    def close(self) -> None:
        self.admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                           (self.dbname,))
        self.admin.execute(f'DROP DATABASE IF EXISTS "{self.dbname}"')
        for role in reversed(self.roles):
            self.admin.execute(f'DROP ROLE IF EXISTS "{role}"')
        self.admin.close()


@pytest.fixture
def scratch_pg():
    pg = ScratchPostgres()
    yield pg
    pg.close()


@pytest.fixture
def relay():
    from notifications.outbox import outbox_relay_once

    return outbox_relay_once


@pytest.fixture
def activate():
    from approvals import services

    def _activate(user, eligible_assignment, **kwargs):
        kwargs.setdefault("duration_minutes", 60)
        kwargs.setdefault("justification", "maintenance window")
        kwargs.setdefault("mfa_verified_at", timezone.now())
        return services.request_self_activate(actor=user, eligible_assignment=eligible_assignment, **kwargs)

    return _activate


@pytest.fixture
def open_policy(directory):
    """Make a role at a scope activatable in one call (no MFA, approval or justification)."""
    from assignments import services

    def _open(role_slug, scope):
        services.role_setting_update(actor=SETUP, role=directory.role(role_slug), scope=scope,
                                     values={"require_mfa_on_activation": False, "require_approval": False,
                                             "require_justification_on_activation": False}, approver_ids=None)

    return _open


@pytest.fixture
def db_admins_group(directory, open_policy):
    """The PIM group "DB-Admins", whose Member role activates in one call."""
    group = directory.group("DB-Admins")
    open_policy("group-member", group.group_scope)
    return group


@pytest.fixture
def ldap_target(slapd, global_admin):
    from connectors.services import target_create

    return target_create(actor=global_admin, name=f"LDAP {uuid.uuid4().hex[:6]}", kind="ldap",
                         config=slapd.target_config(), secret=slapd_module.ROOT_PASSWORD,
                         mfa_verified_at=timezone.now())


@pytest.fixture
def pg_target(scratch_pg, global_admin):
    from connectors.services import target_create

    return target_create(actor=global_admin, name=f"PostgreSQL {uuid.uuid4().hex[:6]}", kind="postgresql",
                         config=scratch_pg.target_config(), secret="", mfa_verified_at=timezone.now())


@pytest.fixture
def mapped_ldap_group(slapd, ldap_target, db_admins_group, directory, global_admin):
    """"Member of group DB-Admins" → the LDAP group cn=DB-Admins (with the group and its DN)."""
    from connectors.services import mapping_create

    group_dn = slapd.add_group("DB-Admins")
    mapping = mapping_create(actor=global_admin, target=ldap_target, role=directory.role("group-member"),
                             scope=db_admins_group.group_scope, grant=group_dn, mfa_verified_at=timezone.now())
    return mapping, group_dn
