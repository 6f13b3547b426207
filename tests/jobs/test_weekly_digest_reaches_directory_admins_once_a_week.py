"""The weekly digest: to Privileged Role Administrators, Security Administrators and Global
Administrators; activations, permanent assignments, in/outside PIM, top 5 roles, with links; once per week."""

from datetime import timedelta

import time_machine
from django.conf import settings
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from assignments import services
from core.actors import Actor
from notifications.digest import digest_weekly_send
from notifications.outbox import outbox_relay_once

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_the_digest_lists_the_week_and_goes_to_the_three_admin_roles_once(directory, global_admin, role_admin,
                                                                          requester, policy, activate, outbox):
    secadmin = directory.user("secadmin")
    directory.grant(secadmin, "security-administrator")
    reader = directory.user("reader")
    directory.grant(reader, "global-reader")
    policy("helpdesk-administrator")
    eligibility = directory.grant(requester, "helpdesk-administrator", kind="eligible")
    activate(requester, eligibility)
    outside = directory.grant(directory.user("sneaky"), "exchange-administrator")
    services.assignment_record_outside_pim(actor=SETUP, assignment=outside, before=None)

    assert digest_weekly_send() == 3
    assert digest_weekly_send() == 3  # same week: same rows, nothing new
    rows = outbox.rows("email/digest")
    assert sorted(m.payload["to"] for m in rows) == ["gadmin@example.com", "rolead@example.com",
                                                      "secadmin@example.com"]
    context = rows[0].payload["context"]
    assert context["users_activated"] == [{"name": "Requester", "count": 1}]
    assert context["outside_count"] == 1 and context["outside"][0]["principal"] == "Sneaky"
    assert context["made_permanent_count"] >= 1
    assert context["top_roles"][0]["role"] == "Global Administrator" and len(context["top_roles"]) <= 5

    with time_machine.travel(timezone.now() + timedelta(days=7), tick=False):
        digest_weekly_send()
    assert len(outbox.rows("email/digest")) == 6  # next week: a new digest

    mail.outbox.clear()
    outbox_relay_once(limit=1000)
    digest = next(m for m in mail.outbox if m.to == ["secadmin@example.com"] and "Weekly digest" in m.subject)
    assert digest.subject.startswith("PIM: Weekly digest")
    html = digest.alternatives[0][0]
    assert f'href="{settings.SITE_URL}/audit/"' in html and "Sneaky" in html
    assert "Top roles by holders" in digest.body
