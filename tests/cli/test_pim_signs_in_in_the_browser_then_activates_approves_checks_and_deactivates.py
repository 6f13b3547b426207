"""End to end against the live server: `scripts/pim` (a subprocess, as from a clean clone) signs in with a
device code that a person approves in the browser after the MFA step-up; then it lists the roles,
activates one whose policy asks for MFA (the browser's step-up counts while fresh), files an activation
that waits for approval, which the approver — signed in the same way — lists and approves; `check`
answers from the access check; deactivation ends the role. Once the verification is old, an activation
that asks for MFA is refused with the way out (sign in again)."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import ApiToken, DeviceAuthorization
from assignments import services
from audit.models import AuditEvent
from tests.conftest import SETUP, mark_mfa_verified

ROOT = Path(__file__).resolve().parents[2]
PIM = ROOT / "scripts" / "pim"

pytestmark = pytest.mark.django_db(transaction=True)


def policy(directory, slug, **values):
    defaults = {"require_mfa_on_activation": False, "require_justification_on_activation": True,
                "require_ticket_on_activation": False, "require_approval": False}
    approvers = values.pop("approvers", None)
    services.role_setting_update(actor=SETUP, role=directory.role(slug), scope=directory.root,
                                 values={**defaults, **values},
                                 approver_ids=None if approvers is None else [p.principal.pk for p in approvers])


class Terminal:
    """One person's terminal: `pim` with its own configuration directory."""

    def __init__(self, server: str, home: Path):
        self.server, self.home = server, home
        self.env = {**os.environ, "PIM_CONFIG_DIR": str(home), "PYTHONPATH": ""}
        for name in ("DJANGO_SETTINGS_MODULE", "DATABASE_URL"):
            self.env.pop(name, None)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(PIM), *args], env=self.env, capture_output=True, text=True, timeout=60)

    def login(self, user, *, verified: bool = True) -> subprocess.CompletedProcess:
        process = subprocess.Popen([str(PIM), "--server", self.server, "login", "--no-browser", "--name",
                                    f"{user.username}-laptop"], env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        first, second = process.stdout.readline(), process.stdout.readline()
        assert first.startswith(f"To sign in, open {self.server}/api/v1/device/?code="), first
        code = re.search(r"code ([A-Z]{4}-[A-Z]{4})", second).group(1)
        browser = Client()
        browser.force_login(user)
        page = browser.get(reverse("api:device"), {"code": code})
        assert page.status_code == 200 and f"{user.username}-laptop" in page.content.decode()
        # Approving needs a fresh verification: the browser is sent to the step-up first.
        stale = browser.post(reverse("api:device"), {"code": code, "decision": "approve"})
        assert stale.status_code == 302 and stale["Location"].startswith(reverse("accounts:verify"))
        if verified:
            mark_mfa_verified(browser)
            done = browser.post(reverse("api:device"), {"code": code, "decision": "approve"})
            assert done.status_code == 200 and "The command line is signed in" in done.content.decode()
        else:
            browser.post(reverse("api:device"), {"code": code, "decision": "deny"})
        out, err = process.communicate(timeout=60)
        return subprocess.CompletedProcess(process.args, process.returncode, first + second + out, err)


def test_the_command_line_end_to_end(live_server, directory, settings, tmp_path):
    settings.SITE_URL = live_server.url
    settings.PIM_DEVICE_POLL_SECONDS = 1
    alice = directory.user("alice", email="alice@example.com")
    bob = directory.user("bob", email="bob@example.com")
    policy(directory, "helpdesk-administrator", require_mfa_on_activation=True)
    policy(directory, "exchange-administrator", require_mfa_on_activation=True)
    policy(directory, "security-administrator", require_approval=True, approvers=[bob])
    for slug in ("helpdesk-administrator", "exchange-administrator", "security-administrator"):
        directory.grant(alice, slug, kind="eligible")

    mine = Terminal(live_server.url, tmp_path / "alice")
    signed_in = mine.login(alice)
    assert signed_in.returncode == 0, signed_in.stderr
    assert "Signed in to" in signed_in.stdout
    token = ApiToken.objects.get(user=alice, purpose=ApiToken.Purpose.CLI)
    assert token.name == "pim CLI: alice-laptop" and token.mfa_verified_at is not None
    assert AuditEvent.objects.filter(action="api.device_approve", actor_id=alice.pk).exists()
    assert oct((tmp_path / "alice" / "credentials.json").stat().st_mode & 0o777) == "0o600"

    roles = mine.run("roles")
    assert roles.returncode == 0, roles.stderr
    assert "helpdesk-administrator" in roles.stdout and "Active:\n  none" in roles.stdout

    activated = mine.run("activate", "helpdesk-administrator", "-j", "ticket 7 needs a reset", "-d", "1h30m")
    assert activated.returncode == 0, activated.stderr
    assert activated.stdout.startswith("Activated helpdesk-administrator at / until")
    assert mine.run("check", "helpdesk-administrator").returncode == 0

    asked = mine.run("activate", "security-administrator", "-j", "investigate the sign-in alerts")
    assert asked.returncode == 0, asked.stderr
    assert "waiting for approval (1 needed" in asked.stdout
    assert mine.run("check", "security-administrator").returncode == 3

    theirs = Terminal(live_server.url, tmp_path / "bob")
    assert theirs.login(bob).returncode == 0
    queue = theirs.run("approvals")
    assert "Alice asks for security-administrator at / for 60 min: investigate the sign-in alerts" in queue.stdout
    request_id = queue.stdout.split()[0]
    approved = theirs.run("approve", request_id, "-c", "go ahead")
    assert approved.returncode == 0, approved.stderr
    assert approved.stdout.strip() == f"Approved: request {request_id} is now provisioned."
    assert mine.run("check", "security-administrator").returncode == 0
    assert "Nothing waits for your decision." in theirs.run("approvals").stdout

    with time_machine.travel(timezone.now() + timedelta(minutes=11), tick=True):
        # Past the 5 minutes an activation must last; the browser's verification is 11 minutes old now.
        ended = mine.run("deactivate", "helpdesk-administrator", "-j", "done")
        assert ended.returncode == 0, ended.stderr
        assert mine.run("check", "helpdesk-administrator").returncode == 3
        stale = mine.run("activate", "exchange-administrator", "-j", "mailbox restore")
        assert stale.returncode == 1
        assert "run `pim login` again" in stale.stderr

    json_roles = mine.run("--json", "roles")
    assert '"role_slug": "security-administrator"' in json_roles.stdout
    assert mine.run("logout").returncode == 0
    assert mine.run("roles").returncode == 1


def test_a_sign_in_denied_in_the_browser_gives_no_token(live_server, directory, settings, tmp_path):
    settings.SITE_URL = live_server.url
    settings.PIM_DEVICE_POLL_SECONDS = 1
    carol = directory.user("carol")
    denied = Terminal(live_server.url, tmp_path / "carol").login(carol, verified=False)
    assert denied.returncode == 1
    assert "denied" in denied.stderr
    assert not ApiToken.objects.filter(user=carol).exists()
    assert DeviceAuthorization.objects.get(user=carol).status == DeviceAuthorization.Status.DENIED
    assert not (tmp_path / "carol" / "credentials.json").exists()


def test_the_command_line_runs_without_django(tmp_path):
    """Its imports are the standard library and httpx: no Django, no app of the portal."""
    code = ("import sys, pim_cli.cli; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
            "{'django', 'rest_framework', 'core', 'audit', 'assignments', 'api', 'pim_portal', 'operations'}); "
            "print(bad)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.stdout.strip() == "[]", done.stderr
