"""`/metrics` reports the intake's sync results: LDAP / AD runs by source, kind and outcome, the age of each
source's last success and the entries its runs changed; SCIM clients' changes of the last day by action and
outcome, when each last called, and what each provisioned. Runs and SCIM calls go through the real services
and endpoint; time is moved with time-machine."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from directory.ldap_client import PRESETS
from directory.ldap_sync import directory_sync_run
from directory.models import DirectorySource
from tests.directory_scim.conftest import Scim, group_body, make_client, user_body

from .test_metrics_report_backlogs_and_their_ages import scrape, value

BASE = "dc=corp,dc=example"


def _ldif(users) -> bytes:
    blocks = ["version: 1"]
    for name in users:
        number = sum(ord(c) for c in name)  # a stable entryUUID per name
        blocks.append(f"dn: uid={name},ou=people,{BASE}\nobjectClass: inetOrgPerson\nuid: {name}\n"
                      f"cn: {name.title()}\nsn: {name}\nmail: {name}@corp.example\n"
                      f"entryUUID: 00000000-0000-4000-8000-{number:012d}")
    members = "\n".join(f"member: uid={name},ou=people,{BASE}" for name in users)
    blocks.append(f"dn: cn=ops,ou=groups,{BASE}\nobjectClass: groupOfNames\ncn: ops\n"
                  f"entryUUID: 00000000-0000-4000-8000-999999999999\n{members}")
    return ("\n\n".join(blocks) + "\n").encode()


def _source(name) -> DirectorySource:
    now = timezone.now()
    return DirectorySource.objects.create(**{**PRESETS["openldap"], "name": name, "url": "", "preset": "openldap",
                                             "base_dns": BASE, "created_at": now, "updated_at": now})


@pytest.mark.django_db
def test_ldap_runs_by_outcome_last_success_age_and_entries_changed(client, directory):
    start = timezone.now()
    corp = _source("Corp LDAP")
    _source("Never run")
    with time_machine.travel(start, tick=False):
        first = directory_sync_run(source=corp, kind="ldif", ldif=_ldif(["ada", "grace", "alan"]))
        assert first.status == "succeeded", first.error
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        broken = directory_sync_run(source=corp, kind="ldif", ldif=b"dn: cn=x\nchangetype: modify\nreplace: mail\n")
        assert broken.status == "failed"
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        again = directory_sync_run(source=corp, kind="ldif", ldif=_ldif(["ada", "grace"]))  # alan disabled
        assert again.status == "succeeded", again.error
    with time_machine.travel(start + timedelta(minutes=50), tick=False):
        metrics = scrape(client)

    assert value(metrics, "pim_ldap_sync_runs_total", source="Corp LDAP", kind="ldif", status="succeeded") == 2
    assert value(metrics, "pim_ldap_sync_runs_total", source="Corp LDAP", kind="ldif", status="failed") == 1
    assert value(metrics, "pim_ldap_sync_last_success_age_seconds", source="Corp LDAP") == 30 * 60
    assert value(metrics, "pim_ldap_sync_last_success_age_seconds", source="Never run") == -1
    assert value(metrics, "pim_ldap_sync_running_seconds", source="Corp LDAP") == 0
    changed = {change: value(metrics, "pim_ldap_sync_entries_changed_total", source="Corp LDAP", change=change)
               for change in ("users_created", "users_disabled", "groups_created", "memberships_added",
                              "memberships_removed")}
    assert changed == {"users_created": first.users_created + again.users_created,
                       "users_disabled": again.users_disabled, "groups_created": 1,
                       "memberships_added": first.memberships_added + again.memberships_added,
                       "memberships_removed": first.memberships_removed + again.memberships_removed}
    assert first.users_created == 3 and again.users_disabled == 1 and first.memberships_added == 3
    assert value(metrics, "pim_ldap_sync_entries_changed_total", source="Never run", change="users_created") == 0
    assert value(metrics, "pim_metrics_errors") is None


@pytest.mark.django_db
def test_scim_changes_of_the_last_day_by_outcome_last_call_and_resources(client, directory):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        entra, secret = make_client("Entra ID production")
        make_client("Okta (unused)")
        scim = Scim(secret)
        status, ada = scim.post("Users", user_body("ada@example.com"))
        assert status == 201, ada
        assert scim.post("Users", user_body("bob@example.com"))[0] == 201
        status, group = scim.post("Groups", group_body("Ops", members=[ada["id"]]))
        assert status == 201, group
    with time_machine.travel(start + timedelta(hours=2), tick=False):
        status, _ = scim.post("Users", user_body("carol@example.com"))
        assert status == 201
        metrics = scrape(client)
    labels = {"client": "Entra ID production"}
    assert value(metrics, "pim_scim_intake_changes_last_day", **labels, action="scim.user_create",
                 outcome="success") == 3
    assert value(metrics, "pim_scim_intake_changes_last_day", **labels, action="scim.group_create",
                 outcome="success") == 1
    assert value(metrics, "pim_scim_intake_last_request_age_seconds", **labels) == 0
    assert value(metrics, "pim_scim_intake_last_request_age_seconds", client="Okta (unused)") == -1
    assert value(metrics, "pim_scim_intake_resources", **labels, kind="user") == 3
    assert value(metrics, "pim_scim_intake_resources", **labels, kind="group") == 1

    # A day later the window has moved past the first three changes.
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        later = scrape(client)
    assert value(later, "pim_scim_intake_changes_last_day", **labels, action="scim.user_create",
                 outcome="success") == 1
    assert value(later, "pim_scim_intake_changes_last_day", **labels, action="scim.group_create",
                 outcome="success") is None
    assert value(later, "pim_scim_intake_last_request_age_seconds", **labels) == 23 * 3600
