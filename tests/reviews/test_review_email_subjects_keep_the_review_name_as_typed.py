"""A review's name appears in email subjects as typed: "R&D" stays "R&D", not "R&amp;D" (subjects are
plain text, not HTML)."""

from notifications.email import email_message
from notifications.models import OutboxMessage
from reviews import tasks


def test_an_ampersand_and_a_quote_in_the_name(directory, make_review):
    reviewer = directory.user("rev", email="rev@example.com")
    directory.grant(directory.user("held"), "security-administrator", kind="eligible")
    make_review(name="R&D admins' review", reviewers=[reviewer])

    tasks.reviews_start()

    subjects = [email_message(m).subject for m in OutboxMessage.objects.filter(channel="email")
                if m.payload["to"] == "rev@example.com"]
    assert "PIM: Access review started: R&D admins' review" in subjects
