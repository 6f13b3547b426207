"""The first full run of a directory (and any large delta) is applied set-based, in committed chunks:
no savepoint per entry (past 64 subtransactions PostgreSQL slows every later statement of the
transaction), a few SQL statements per chunk rather than ~20 per entry, one audit event per change in
an intact chain, no email and no recipients looked up for directory memberships, and exactly one
outbox effect per change for the peers that listen (a webhook here, for additions and removals).
PIM-managed memberships are never touched, and a run that stops part-way keeps the chunks it
committed, says so, and the next run finishes."""

import ldap3
import pytest
from django.db import OperationalError, connection
from django.utils import timezone

from assignments import intake
from assignments.models import Assignment, Principal, User
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from connectors.models import Effect
from connectors.services import webhook_target_create
from directory import ldap_apply
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource, DirectorySyncRun
from notifications.models import OutboxMessage
from tests.slapd import group_dn, ldif_for, start_slapd, stop_slapd, user_dn

from .conftest import make_source

FULL = DirectorySyncRun.Kind.FULL
PEOPLE_COUNT, GROUP_COUNT, PER_GROUP = 120, 8, 30
USERS = [{"uid": f"p{i:03d}", "cn": f"Person {i}", "mail": f"p{i:03d}@example.org"} for i in range(PEOPLE_COUNT)]
GROUPS = [{"cn": f"team{g}", "members": [f"p{(g * 10 + k) % PEOPLE_COUNT:03d}" for k in range(PER_GROUP)]}
          for g in range(GROUP_COUNT)]
MEMBERSHIPS = GROUP_COUNT * PER_GROUP


@pytest.fixture
def org_slapd():
    server = start_slapd(ldif_for(users=USERS, groups=GROUPS))
    yield server
    stop_slapd(server)


@pytest.fixture
def small_chunks(monkeypatch):
    """Chunks smaller than the directory, so that the run commits several of each kind."""
    monkeypatch.setattr(ldap_apply, "USER_CHUNK", 50)
    monkeypatch.setattr(ldap_apply, "GROUP_CHUNK", 3)
    monkeypatch.setattr(ldap_apply, "MEMBERSHIP_CHUNK", 100)


class Statements(list):
    def __call__(self, execute, sql, params, many, context):
        self.append(sql)
        return execute(sql, params, many, context)


def members(group_name: str, origin: str = "directory") -> set[str]:
    return set(Assignment.objects.filter(scope__group__display_name=group_name, status="live", origin=origin)
               .values_list("principal__user__username", flat=True))


def test_the_first_load_is_set_based_and_audited_once_per_change(directory, org_slapd, small_chunks):
    source = make_source(org_slapd.url)
    emails_before = OutboxMessage.objects.filter(channel="email").count()
    statements = Statements()
    with connection.execute_wrapper(statements):
        run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "succeeded", run.error
    assert (run.users_created, run.groups_created, run.memberships_added) == (PEOPLE_COUNT, GROUP_COUNT,
                                                                              MEMBERSHIPS)
    assert members("team1") == {f"p{k:03d}" for k in range(10, 40)}

    # A few per chunk (the test's own transaction turns each chunk's transaction into one), not per entry.
    savepoints = [sql for sql in statements if sql.lstrip().upper().startswith("SAVEPOINT")]
    assert len(savepoints) <= 30, f"{len(savepoints)} savepoints: one per entry again?"
    entries = PEOPLE_COUNT + GROUP_COUNT  # one at a time it took about 20 statements per entry and membership
    assert len(statements) < 2 * entries, f"{len(statements)} statements for {entries} entries"

    actor = "system:ldap-sync (Example OpenLDAP)"
    ours = AuditEvent.objects.filter(actor_label=actor)
    assert ours.filter(action="user.create").count() == PEOPLE_COUNT
    assert ours.filter(action="group.create").count() == GROUP_COUNT
    assert ours.filter(action="scope.create").count() == GROUP_COUNT
    created = ours.filter(action="assignment.create")
    assert created.count() == MEMBERSHIPS
    assert set(created.values_list("target_id", flat=True)) == {
        str(pk) for pk in Assignment.objects.filter(origin="directory").values_list("pk", flat=True)}
    sample = created.filter(principal_label="Person 15").first()
    assert sample.after["origin"] == "directory" and sample.scope_path.startswith("/groups/")
    assert audit_chain_verify().ok

    assert OutboxMessage.objects.filter(channel="email").count() == emails_before  # memberships send no email

    again = directory_sync_run(source=source, kind=FULL)
    assert (again.users_unchanged, again.groups_unchanged) == (PEOPLE_COUNT, GROUP_COUNT)
    assert again.users_created + again.groups_created + again.memberships_added + again.memberships_removed == 0


def test_peers_hear_of_each_membership_once_and_pim_managed_ones_are_never_touched(directory, global_admin,
                                                                                  org_slapd, small_chunks):
    webhook_target_create(actor=global_admin, name="SIEM", mfa_verified_at=timezone.now(), config={
        "url": "https://hooks.example.com/pim", "event_types": ["assignment.created", "assignment.removed"]})
    source = make_source(org_slapd.url)
    assert directory_sync_run(source=source, kind=FULL).status == "succeeded"
    created = Effect.objects.filter(action="event", event="assignment.created")
    assert created.count() == MEMBERSHIPS
    assert len(set(created.values_list("transition", flat=True))) == MEMBERSHIPS
    assert OutboxMessage.objects.filter(channel="connector").count() == MEMBERSHIPS
    team0 = Principal.objects.get(display_name="team0")
    team5 = Principal.objects.get(display_name="team5")
    p000 = User.objects.get(username="p000")
    # p000 also holds a time-bound PIM membership of team5 and p001 an eligible one of team0.
    pim = directory.add_member(team5, p000, end=timezone.now() + timezone.timedelta(days=3))
    eligible = directory.add_member(team0, User.objects.get(username="p001"), kind="eligible")

    org_slapd.modify(group_dn("team0"), {"member": [(ldap3.MODIFY_REPLACE, [user_dn("p000")])]})
    org_slapd.delete(group_dn("team7"))
    for i in range(60, 100):  # a new mail domain for 40 people
        org_slapd.modify(user_dn(f"p{i:03d}"), {"mail": [(ldap3.MODIFY_REPLACE, [f"p{i:03d}@example.net"])]})
    statements = Statements()
    with connection.execute_wrapper(statements):
        run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "succeeded", run.error
    assert run.users_updated == 40 and User.objects.get(username="p070").email == "p070@example.net"
    assert AuditEvent.objects.filter(action="user.update", target_label="Person 70").count() == 1
    # The webhook's deliveries are one per change (written for the whole batch at once); the
    # intake's own work is set-based but for ending each membership (and what was activated through it).
    intake = [sql for sql in statements if '"connectors_effect"' not in sql and 'FROM "connectors_target"' not in sql
              and "notifications_" not in sql and "SAVEPOINT" not in sql.upper()]
    assert len(intake) < 2 * (40 + 59), f"{len(intake)} statements for 40 updates and 59 removals"
    pim.refresh_from_db()
    eligible.refresh_from_db()
    assert pim.status == "live" and eligible.status == "live"
    ended = AuditEvent.objects.filter(action="assignment.end", message="Group membership removed in the directory.")
    assert ended.count() == run.memberships_removed
    assert Effect.objects.filter(action="event", event="assignment.removed").count() == run.memberships_removed
    assert audit_chain_verify().ok


def test_a_run_that_stops_part_way_keeps_its_committed_chunks_and_the_next_run_finishes(directory, org_slapd,
                                                                                       small_chunks,
                                                                                       monkeypatch):
    source = make_source(org_slapd.url)

    def database_gone(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(intake, "groups_create_many", database_gone)
    run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "failed" and "stopped part-way" in run.error, run.error
    assert run.users_created == PEOPLE_COUNT  # every user chunk was committed, and is counted
    assert User.objects.filter(principal__external_source=source.source_key).count() == PEOPLE_COUNT
    assert not Principal.objects.filter(external_source=source.source_key, kind="group").exists()
    assert DirectorySource.objects.get(pk=source.pk).watermark == ""  # the next run reads everything again

    monkeypatch.undo()
    monkeypatch.setattr(ldap_apply, "USER_CHUNK", 50)
    finished = directory_sync_run(source=source, kind=FULL)
    assert finished.status == "succeeded", finished.error
    assert (finished.users_unchanged, finished.groups_created, finished.memberships_added) == (
        PEOPLE_COUNT, GROUP_COUNT, MEMBERSHIPS)
    assert AuditEvent.objects.filter(action="user.create", target_label="Person 7").count() == 1


def test_a_load_reaching_a_webhook_and_a_mapping_opens_no_savepoint_per_change(directory, global_admin, org_slapd):
    """The subscribers take the run's new memberships as sets: the webhook's deliveries and the connector's
    effects are written for a whole chunk at once, not each in its own savepoint (PostgreSQL slows every later
    statement of a transaction past 64 of them); memberships of groups that hold nothing mapped queue
    no effect."""
    from connectors.services import mapping_create, target_create

    webhook_target_create(actor=global_admin, name="SIEM", mfa_verified_at=timezone.now(), config={
        "url": "https://hooks.example.com/pim", "event_types": ["assignment.created", "assignment.removed"]})
    source = make_source(org_slapd.url)
    assert directory_sync_run(source=source, kind=FULL).status == "succeeded"
    # team0 holds Owner of a database, mapped to a PostgreSQL role (not reached here: effects only queue).
    database = directory.scope("/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Sql/servers/sql1")
    directory.grant(Principal.objects.get(display_name="team0"), "owner", database)
    target = target_create(actor=global_admin, name="Databases", kind="postgresql", secret="", config={
        "host": "127.0.0.1", "port": 5432, "dbname": "postgres", "user": "postgres", "sslmode": "disable",
        "login_template": "{username}"}, mfa_verified_at=timezone.now())
    mapping_create(actor=global_admin, target=target, role=directory.role("owner"), scope=database, grant="owners",
                   check=False, mfa_verified_at=timezone.now())

    joined = [user_dn(f"p{i}") for i in range(100, 120)]
    org_slapd.modify(group_dn("team0"), {"member": [(ldap3.MODIFY_ADD, joined)]})
    org_slapd.modify(group_dn("team1"), {"member": [(ldap3.MODIFY_ADD, [user_dn("p000")])]})
    statements = Statements()
    with connection.execute_wrapper(statements):
        run = directory_sync_run(source=source, kind=FULL)
    assert run.status == "succeeded", run.error
    assert (run.memberships_added, run.memberships_removed) == (21, 0)
    savepoints = [sql for sql in statements if sql.upper().startswith("SAVEPOINT")]
    assert len(savepoints) < 8, f"{len(savepoints)} savepoints for {run.memberships_added} changes"
    # One delivery per change (and one for team0's Owner assignment).
    assert Effect.objects.filter(action="event", event="assignment.created").count() == MEMBERSHIPS + 1 + 21
    # Each delivery and each of the 20 grants below is one row on the connectors' channel.
    assert OutboxMessage.objects.filter(channel="connector").count() == MEMBERSHIPS + 1 + 21 + 20
    # Only team0's new members reach the mapping: a grant each (team1's new member queues nothing).
    effects = Effect.objects.filter(mapping__target=target)
    assert set(effects.values_list("action", flat=True)) == {"grant"}
    assert sorted(effects.values_list("principal__user__username", flat=True)) == [f"p{i}" for i in range(100, 120)]
