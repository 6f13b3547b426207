"""Each email links to the page where its reader acts: approvers to the request's decision form, the
requester to their request, an assignee to activating, extending or renewing that assignment, and
administrators to the assignment's page. None sends its reader to their own My roles."""

import re
from datetime import timedelta

import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from assignments import sweeps
from notifications.reminders import assignments_remind


def _links(message) -> set[str]:
    return set(re.findall(r"https?://\S+", message.body))


def _url(name, *args) -> str:
    return settings.SITE_URL + reverse(name, args=args)


def test_approvers_and_the_requester_are_sent_to_the_request(directory, person, policy, activate, delivered):
    alice, bob = person("Alice Andersen"), person("Bob Brown")
    policy("helpdesk-administrator", require_approval=True, approvers=[bob])
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    asked = delivered.one("bob@example.com", "Approve")
    submitted = delivered.one("alice@example.com", "waiting for approval")

    assert _links(asked) == {_url("approvals:request_detail", request.pk) + "#decide"}
    assert _links(submitted) == {_url("approvals:request_detail", request.pk)}


def test_an_assignee_is_sent_to_activate_extend_or_renew_and_admins_to_the_assignment(directory, global_admin,
                                                                                     person, delivered):
    alice = person("Alice Andersen")
    end = timezone.now() + timedelta(days=10)
    eligibility = directory.grant(alice, "helpdesk-administrator", kind="eligible", end=end)
    assignments_remind(now=timezone.now())
    with time_machine.travel(end + timedelta(minutes=1), tick=False):
        sweeps.assignments_expire()
        mine = {m.subject: _links(m) for m in delivered("alice@example.com")}
        admins = {m.subject: _links(m) for m in delivered("gadmin@example.com") if "Alice" in m.subject}

    assert mine["PIM: You are eligible for Helpdesk Administrator"] == {
        _url("approvals:activate", eligibility.pk)}
    assert mine["PIM: Your eligibility for Helpdesk Administrator ends in 10 days"] == {
        _url("approvals:extend", eligibility.pk)}
    assert mine["PIM: Your eligibility for Helpdesk Administrator has ended"] == {
        _url("approvals:renew", eligibility.pk)}
    assert len(admins) == 3
    assert all(links == {_url("assignments:detail", eligibility.pk)} for links in admins.values()), admins
    assert _url("approvals:my_roles") not in set().union(*mine.values(), *admins.values())


def test_an_activation_links_everyone_to_its_request(directory, global_admin, person, policy, activate, delivered):
    alice = person("Alice Andersen")
    policy("helpdesk-administrator")
    request = activate(alice, directory.grant(alice, "helpdesk-administrator", kind="eligible"))

    for to in ("alice@example.com", "gadmin@example.com"):
        message = delivered.one(to, "activated")
        assert _links(message) == {_url("approvals:request_detail", request.pk)}
