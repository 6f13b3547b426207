"""`manage.py directory_import FILE [--apply]`: a dry run by default, the apply on request, exit status 1
and the refused rows on stderr when any row is refused; `directory_export` writes what it reads back."""

import pytest
from django.core.management import call_command

from assignments.models import Scope, User

CSV = ("record,path,kind,parent,display_name,username,email\n"
       "scope,/providers/Microsoft.Management/managementGroups/cmd,management_group,,Command,,\n"
       "scope,/subscriptions/cmd-1,subscription,/providers/Microsoft.Management/managementGroups/cmd,One,,\n"
       "user,,,,Cam Doe,cam,cam@example.com\n")


def test_dry_run_then_apply_then_no_change(directory, tmp_path, capsys):
    path = tmp_path / "org.csv"
    path.write_text(CSV)
    call_command("directory_import", str(path))
    assert "Dry run: 3 created, 0 changed, 0 unchanged" in capsys.readouterr().out
    assert not Scope.objects.filter(path="/subscriptions/cmd-1").exists()
    call_command("directory_import", str(path), "--apply")
    assert "Applied: 3 created" in capsys.readouterr().out
    assert Scope.objects.get(path="/subscriptions/cmd-1").parent.path.endswith("/managementGroups/cmd")
    assert User.objects.filter(username="cam").exists()
    call_command("directory_import", str(path), "--apply")
    assert "No change: 0 created, 0 changed, 3 unchanged" in capsys.readouterr().out

    exported = tmp_path / "export.json"
    call_command("directory_export", "--format", "json", "--output", str(exported))
    call_command("directory_import", str(exported), "--apply")
    assert "No change: 0 created, 0 changed," in capsys.readouterr().out


def test_refused_rows_exit_1_with_line_and_column(directory, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(CSV + "user,,,,,dup,not-an-address\n")
    with pytest.raises(SystemExit) as exited:
        call_command("directory_import", str(path), "--apply")
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "line 5 [email]: user: not-an-address is not an email address." in captured.err
    assert "1 error: nothing applied" in captured.out
    assert not User.objects.filter(username="cam").exists()
