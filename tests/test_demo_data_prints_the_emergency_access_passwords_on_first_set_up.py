"""`make run` sets up with `pim_demo_data`: on first set-up it prints the two emergency access
passwords (once), which sign in; a second run prints none."""

from django.contrib.auth import authenticate
from django.core.management import call_command


def test_first_set_up_prints_the_emergency_access_passwords_once(db, capsys):
    call_command("pim_demo_data")
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if "password (shown once" in line]
    assert len(lines) == 2
    for line in lines:
        username = line.split("Emergency access account ", 1)[1].split()[0]
        password = line.rsplit(": ", 1)[1].strip()
        assert authenticate(username=username, password=password) is not None

    call_command("pim_demo_data")
    again = capsys.readouterr().out
    assert "password (shown once" not in again
    assert "alice" in again
