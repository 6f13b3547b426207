"""db_owner at /subscriptions/…/databases/x mapped to a PostgreSQL role: activation GRANTs the role
to the user's login on the machine's PostgreSQL server (as \\du sees it in pg_auth_members), the end
REVOKEs it and, when the mapping says so, terminates the login's sessions."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from assignments.sweeps import assignments_expire
from connectors.selectors import effects_for_request

pytestmark = pytest.mark.django_db

DATABASE = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql1/databases/x"


@pytest.fixture
def db_owner(directory):
    from assignments import services
    from tests.connectors.conftest import SETUP

    role = services.role_definition_create(slug="db-owner", name="db_owner", kind="resource",
                                           actions=["Microsoft.Sql/servers/databases/*"], actor=SETUP)
    directory.roles[role.slug] = role
    return role


@pytest.fixture
def mapped_role(scratch_pg, pg_target, db_owner, directory, global_admin, open_policy):
    def _mapped(*, terminate_sessions=False):
        from connectors.services import mapping_create

        database = directory.scope(DATABASE)
        open_policy("db-owner", database)
        pg_role = scratch_pg.role("db_owner")
        mapping_create(actor=global_admin, target=pg_target, role=db_owner, scope=database, grant=pg_role,
                       options={"terminate_sessions": terminate_sessions}, mfa_verified_at=timezone.now())
        return database, pg_role

    return _mapped


def test_activation_grants_the_role_and_expiry_revokes_it(scratch_pg, mapped_role, directory, activate, relay):
    database, pg_role = mapped_role()
    login = scratch_pg.login("dana")
    dana = directory.user("dana")
    request = activate(dana, directory.grant(dana, "db-owner", database, kind="eligible"))
    assert scratch_pg.members(pg_role) == set()

    relay()
    assert scratch_pg.members(pg_role) == {login}
    grant, _scheduled_revoke = effects_for_request(request=request)
    assert grant.status == "done" and f"granted {pg_role} to {login}" == grant.detail

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assignments_expire()
        relay()
    assert scratch_pg.members(pg_role) == set()
    _, revoke = effects_for_request(request=request)
    assert revoke.status == "done" and revoke.detail.startswith(f"revoked {pg_role} from {login}")


def test_the_end_terminates_the_logins_sessions_when_the_mapping_says_so(scratch_pg, mapped_role, directory,
                                                                       activate, relay):
    import psycopg

    from tests.connectors.conftest import PG

    database, pg_role = mapped_role(terminate_sessions=True)
    login = scratch_pg.login("erin")
    erin = directory.user("erin")
    request = activate(erin, directory.grant(erin, "db-owner", database, kind="eligible"))
    relay()
    session = psycopg.connect(host=PG["host"], port=PG["port"], user=login, dbname=scratch_pg.dbname,
                              autocommit=True)
    session.execute(f'SET ROLE "{pg_role}"')  # the role is in effect in this session now

    with time_machine.travel(timezone.now() + timedelta(minutes=61), tick=False):
        assignments_expire()
        relay()
    assert scratch_pg.members(pg_role) == set()
    _, revoke = effects_for_request(request=request)
    assert "1 session(s) terminated" in revoke.detail
    with pytest.raises(psycopg.OperationalError):
        session.execute("SELECT 1")
    session.close()
