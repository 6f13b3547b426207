"""A dry run goes through the services and rolls back: the report lists every refused row (row number,
column, message) and what the others would do; nothing is written, whatever is in the file."""

import json

from assignments.models import Scope, User
from directory.bulk_import import import_run

CSV = """record,path,kind,parent,display_name,username,email,time_zone,enabled,principal,role,scope
scope,/subscriptions/dry-1,subscription,,Dry one,,,,,,,
scope,/subscriptions/dry-1/resourceGroups/rg,resource_group,,RG,,,,,,,
scope,/subscriptions/dry-2,planet,,Bad kind,,,,,,,
user,,,,,newperson,new@example.com,Mars/Olympus,,,,
user,,,,,okperson,ok@example.com,Europe/Paris,maybe,,,
assignment,,,,,,,,,gadmin,no-such-role,/
assignment,,,,,,,,,nobody-here,reader,/subscriptions/dry-1
"""


def test_a_dry_run_of_csv_names_row_column_and_message_and_writes_nothing(global_admin):
    scopes, users = Scope.objects.count(), User.objects.count()
    report = import_run(data=CSV.encode(), filename="dry.csv", actor=global_admin, apply=False,
                        mfa_verified_at=_now())
    errors = {(e.row, e.column): e.message for e in report.errors}
    assert set(errors) == {(4, "kind"), (5, "time_zone"), (6, "enabled"), (7, "role"), (8, "principal")}, errors
    assert "Mars/Olympus is not a time zone" in errors[(5, "time_zone")]
    assert "not true or false" in errors[(6, "enabled")]
    assert "No role 'no-such-role'" in errors[(7, "role")]
    # The good rows say what they would do, including a resource group under a subscription of the same file.
    assert [(o.row, o.result) for o in report.outcomes] == [(2, "created"), (3, "created")]
    assert not report.applied
    assert "5 errors: nothing applied" in report.summary
    assert Scope.objects.count() == scopes and User.objects.count() == users


def test_an_apply_with_one_bad_row_applies_nothing(global_admin):
    document = {"scopes": [{"path": "/subscriptions/all-or-nothing", "kind": "subscription"}],
                "users": [{"username": "fine"}, {"username": "bad", "email": "not-an-address"}]}
    report = import_run(data=json.dumps(document).encode(), filename="x.json", actor=global_admin, apply=True,
                        mfa_verified_at=_now())
    assert [(e.where, e.column) for e in report.errors] == [("users #2", "email")]
    assert not report.applied
    assert not Scope.objects.filter(path="/subscriptions/all-or-nothing").exists()
    assert not User.objects.filter(username="fine").exists()


def test_an_unreadable_file_is_one_clear_error(global_admin):
    import pytest

    from core.errors import DomainError

    for data, expected in ((b"{not json", "not valid JSON"), (b"a,b\n1,2\n", "'record' column"),
                           (b'["x"]', "A JSON import is an object"), (b"\xff\xfe", "not UTF-8"),
                           (b'{"planets": []}', "Unknown section")):
        with pytest.raises(DomainError) as raised:
            import_run(data=data, actor=global_admin, apply=False, mfa_verified_at=_now())
        assert expected in raised.value.message
        assert raised.value.field == "file"


def _now():
    from django.utils import timezone

    return timezone.now()
