"""The export (JSON and CSV) is the import's format: importing it back changes nothing."""

import csv
import io
import json

import pytest
from django.utils import timezone

from directory.bulk_import import export_bytes, import_run


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_round_trip(directory, global_admin, fmt):
    ops = directory.group("=cmd|' /C calc'!A0")  # a name a spreadsheet would run as a formula
    alice = directory.user("alice")
    directory.add_member(ops, alice)
    directory.scope("/subscriptions/rt/resourceGroups/rg1")
    directory.grant(ops, "reader", "/subscriptions/rt", kind="active")
    directory.grant(alice, "owner", "/subscriptions/rt/resourceGroups/rg1", kind="eligible",
                    end=timezone.now() + timezone.timedelta(days=30))
    # Directory administrators see resource roles only once they elevate access (DESIGN §3); the export
    # holds what its caller may see.
    from assignments.services import access_elevate

    access_elevate(actor=global_admin, justification="export the resource roles too", mfa_verified_at=timezone.now())
    data = export_bytes(actor=global_admin, fmt=fmt)
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(data.decode())))
        group_row = next(r for r in rows if r["record"] == "group")
        assert group_row["display_name"].startswith("'=")  # neutralised for spreadsheets
        assert "alice" in group_row["members"].split(";")
    else:
        document = json.loads(data)
        assert {"principal": f"group:{ops.display_name}", "role": "reader", "scope": "/subscriptions/rt",
                "kind": "active", "end_at": "", "justification": "test"} in document["assignments"]
    report = import_run(data=data, fmt=fmt, actor=global_admin, apply=True, mfa_verified_at=timezone.now())
    assert report.errors == [], report.errors
    assert report.created == report.changed == 0
    assert report.unchanged > 5
    assert report.summary.startswith("No change: 0 created, 0 changed,")


def test_export_holds_only_the_assignments_its_caller_may_see(directory, global_admin):
    directory.grant(directory.user("bea"), "reader", "/subscriptions/hidden", kind="active")
    document = json.loads(export_bytes(actor=global_admin, fmt="json"))
    assert "/subscriptions/hidden" in [s["path"] for s in document["scopes"]]
    assert "/subscriptions/hidden" not in [a["scope"] for a in document["assignments"]]


def test_export_needs_a_directory_reader(directory):
    from core.errors import DomainError

    nobody = directory.user("nobody")
    with pytest.raises(DomainError) as raised:
        export_bytes(actor=nobody, fmt="json")
    assert raised.value.code == "forbidden"
