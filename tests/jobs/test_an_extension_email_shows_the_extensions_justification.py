"""An extension (or renewal) email shows why it was extended — the justification given for the
extension — and who extended it, not the justification the assignment was first made with."""

from datetime import timedelta

from django.utils import timezone

from assignments import services


def test_the_extensions_reason_and_who_extended(directory, global_admin, person, delivered):
    alice = person("Alice Andersen")
    eligibility = directory.grant(alice, "helpdesk-administrator", kind="eligible",
                                  end=timezone.now() + timedelta(days=3), justification="Onboarding")

    services.assignment_extend(actor=global_admin, assignment=eligibility, end_at=timezone.now() + timedelta(days=60),
                               justification="Project Falcon runs until February", mfa_verified_at=timezone.now())

    for to in ("alice@example.com", "gadmin@example.com"):
        message = delivered.one(to, "was extended")
        assert "Project Falcon runs until February" in message.body
        assert "Project Falcon runs until February" in message.html
        assert "Onboarding" not in message.body
        assert "by Gadmin" in message.body
