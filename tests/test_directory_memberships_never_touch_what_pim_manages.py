"""Users, groups and static memberships from a directory source go through the assignments writer:
created once, updated only when they change, and a directory sync never replaces or removes a
membership PIM manages (eligible, time-bound or activated)."""
from datetime import timedelta

from django.utils import timezone

from assignments.access import access_find_grant
from assignments.models import Assignment
from audit.models import AuditEvent
from directory.services import (
    Outcome,
    UserRecord,
    directory_actor,
    directory_group_members_set,
    directory_group_upsert,
    directory_user_upsert,
)

SOURCE = "scim:test"
ACTOR = directory_actor(job="scim", source_label="Test IdP")


def test_a_user_is_created_once_and_updated_only_when_it_changes(directory):
    record = UserRecord(external_id="e-1", username="ada@example.com", email="ada@example.com", display_name="Ada")
    user, outcome = directory_user_upsert(source=SOURCE, record=record, actor=ACTOR)
    assert outcome == Outcome.CREATED and user.principal.external_id == "e-1"
    assert directory_user_upsert(source=SOURCE, record=record, actor=ACTOR)[1] == Outcome.UNCHANGED
    renamed = UserRecord(external_id="e-1", username="ada.l@example.com", email="ada@example.com", display_name="Ada L")
    user, outcome = directory_user_upsert(source=SOURCE, record=renamed, actor=ACTOR)
    assert outcome == Outcome.UPDATED and user.username == "ada.l@example.com"
    event = AuditEvent.objects.filter(action="user.update").latest("seq")
    assert event.actor_label == "system:scim (Test IdP)"


def test_an_inactive_record_disables_the_user_and_ends_what_they_hold(directory):
    record = UserRecord(external_id="e-2", username="bo", display_name="Bo")
    user, _ = directory_user_upsert(source=SOURCE, record=record, actor=ACTOR)
    directory.grant(user, "reader", "/subscriptions/s1")
    user, outcome = directory_user_upsert(source=SOURCE, record=UserRecord(external_id="e-2", username="bo",
                                                                          display_name="Bo", active=False),
                                          actor=ACTOR)
    assert outcome == Outcome.UPDATED and not user.is_active
    assert not Assignment.objects.filter(principal=user.principal, status="live").exists()


def test_a_sync_adds_and_removes_directory_members_but_leaves_pim_managed_ones(directory):
    group, outcome = directory_group_upsert(source=SOURCE, external_id="g-1", display_name="DB admins", actor=ACTOR)
    assert outcome == Outcome.CREATED
    directory.grant(group, "reader", "/subscriptions/s1")
    synced, pim_timebound, pim_eligible = directory.user(), directory.user(), directory.user()
    timebound = directory.add_member(group, pim_timebound, end=timezone.now() + timedelta(days=3))
    eligible = directory.add_member(group, pim_eligible, kind="eligible")

    members = [synced.principal, pim_timebound.principal]
    assert directory_group_members_set(group=group, members=members, actor=ACTOR) == (1, 0)
    timebound.refresh_from_db()
    assert timebound.origin == "pim" and timebound.end_at is not None  # never replaced by a permanent one
    assert access_find_grant(principal=synced.principal, role="reader", scope="/subscriptions/s1")

    assert directory_group_members_set(group=group, members=[], actor=ACTOR) == (0, 1)
    assert not access_find_grant(principal=synced.principal, role="reader", scope="/subscriptions/s1")
    for kept in (timebound, eligible):
        kept.refresh_from_db()
        assert kept.status == "live"
    assert directory_group_members_set(group=group, members=[], actor=ACTOR) == (0, 0)
