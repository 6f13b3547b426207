"""Email links are absolute, on `SITE_URL`. The link bases are cached for the process (a sweep
builds two links per row), and a changed setting clears them: no email keeps pointing at the old
address."""

from django.test import override_settings


def test_links_use_the_site_url_in_force_when_the_email_is_queued(directory, outbox):
    directory.grant(directory.user("first"), "helpdesk-administrator", kind="eligible")  # fills the caches
    with override_settings(SITE_URL="https://pim.example.org"):
        assignment = directory.grant(directory.user("second"), "helpdesk-administrator", kind="eligible")

    [second] = [row for row in outbox.rows("email/assigned") if row.payload["to"] == "second@example.com"]
    context = second.payload["context"]
    # The assignee's link goes where they act: activating the new eligibility.
    assert context["link"] == f"https://pim.example.org/requests/roles/{assignment.pk}/activate/"
    [first] = [row for row in outbox.rows("email/assigned") if row.payload["to"] == "first@example.com"]
    assert not first.payload["context"]["link"].startswith("https://pim.example.org/")
