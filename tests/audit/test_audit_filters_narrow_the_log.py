"""The one FilterSet (page, export, API): period presets and custom dates (UTC), actor, action,
role, scope including everything below it, principal, outcome, and text in justification or ticket."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from audit.models import AuditEvent
from audit.services import audit_event_record
from auditlog.selectors import AuditFilterInvalid, audit_events_filtered

# Tomorrow 10:00 UTC: after the fixtures' role grants start, and "today" has room before it.
NOW = (datetime.now(UTC) + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
MG = "/providers/Microsoft.Management/managementGroups/mg1"


@pytest.fixture
def auditor(directory):
    user = directory.user("auditor")
    directory.grant(user, "global-reader")
    return user


@pytest.fixture
def log(directory, auditor):
    mg = directory.scope(MG)
    directory.scope("/subscriptions/s9/resourceGroups/rg9", parent=directory.scope("/subscriptions/s9", parent=mg))
    directory.scope("/subscriptions/s10")
    alice, bob = directory.user("alice"), directory.user("bob")
    ga = directory.role("global-administrator")
    owner = directory.role("owner")
    rows = [
        ("test.today", NOW - timedelta(hours=1), dict(actor=alice, principal=bob.principal, role=ga, scope="/",
                                                      justification="Fix INC-42", ticket="ServiceNow:CHG0042")),
        ("test.week", NOW - timedelta(days=3), dict(actor=bob, role=owner, scope="/subscriptions/s9/resourceGroups/rg9",
                                                    outcome="denied")),
        ("test.month", NOW - timedelta(days=20), dict(actor=alice, scope="/subscriptions/s10", outcome="failure")),
        ("test.old", NOW - timedelta(days=90), dict(scope=MG, justification="quarterly review")),
    ]
    for action, when, kwargs in rows:
        audit_event_record(action=action, occurred_at=when, **kwargs)
    return {"alice": alice, "bob": bob}


def found(auditor, **params):
    with time_machine.travel(NOW, tick=False):
        qs = audit_events_filtered(user=auditor, params=params)
        return {a.removeprefix("test.") for a in qs.filter(action__startswith="test.").values_list("action", flat=True)}


def test_no_filter_returns_everything(auditor, log):
    assert found(auditor) == {"today", "week", "month", "old"}


@pytest.mark.parametrize("period, expected", [
    ("today", {"today"}),
    ("7d", {"today", "week"}),
    ("30d", {"today", "week", "month"}),
    ("custom", {"today", "week", "month", "old"}),
])
def test_period_presets_are_relative_to_now(auditor, log, period, expected):
    assert found(auditor, period=period) == expected


def test_a_custom_range_includes_both_days(auditor, log):
    day_of_week = (NOW - timedelta(days=3)).date()
    assert found(auditor, period="custom", date_from=day_of_week.isoformat(), date_to=day_of_week.isoformat()) == {
        "week"}
    assert found(auditor, date_to=(NOW - timedelta(days=20)).date().isoformat()) == {"month", "old"}


def test_actor_by_name_by_id_and_system(auditor, log):
    assert found(auditor, actor="Alice") == {"today", "month"}
    assert found(auditor, actor=f"#{log['bob'].pk}") == {"week"}
    assert found(auditor, actor="system") == {"old"}


def test_action_exact_or_by_prefix(auditor, log):
    assert found(auditor, action="test.week") == {"week"}
    assert found(auditor, action="test.") == {"today", "week", "month", "old"}
    assert found(auditor, action="test.wee") == set()


def test_role_principal_outcome(auditor, log):
    assert found(auditor, role="Owner") == {"week"}
    # Bob is the principal of "today" and the actor of "week": both are his events.
    assert found(auditor, principal="Bob") == {"today", "week"}
    assert found(auditor, principal=str(log["bob"].principal.pk)) == {"today", "week"}
    assert found(auditor, outcome="denied") == {"week"}
    assert found(auditor, outcome="failure") == {"month"}


def test_scope_includes_everything_below_it_even_where_paths_are_not_prefixes(auditor, log):
    assert found(auditor, scope=MG) == {"old", "week"}  # s9/rg9 hangs under mg1 without sharing its path
    assert found(auditor, scope="/subscriptions/s9") == {"week"}
    assert found(auditor, scope="/subscriptions/s1") == set()  # not a prefix match on "s10"
    assert found(auditor, scope="/subscriptions/s10") == {"month"}


def test_free_text_searches_justification_and_ticket(auditor, log):
    assert found(auditor, q="inc-42") == {"today"}
    assert found(auditor, q="CHG0042") == {"today"}
    assert found(auditor, q="quarterly") == {"old"}


def test_filters_combine(auditor, log):
    assert found(auditor, actor="alice", period="7d") == {"today"}


def test_invalid_filters_are_refused_not_ignored(auditor, log):
    with pytest.raises(AuditFilterInvalid) as error:
        audit_events_filtered(user=auditor, params={"date_from": "yesterday", "outcome": "maybe"})
    assert set(error.value.errors) == {"date_from", "outcome"}


def test_the_filters_apply_to_my_audit_too(directory, log):
    alice = log["alice"]
    qs = audit_events_filtered(user=alice, params={"outcome": "failure"}, mine=True)
    assert list(qs.values_list("action", flat=True)) == ["test.month"]
    assert AuditEvent.objects.filter(action__startswith="test.").count() == 4
