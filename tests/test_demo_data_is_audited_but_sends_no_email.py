"""Loading the demo organisation queues about 170 emails (every assignment of 50 people): they are
recorded as not sent, nothing reaches the mail directory, and the demo's activity is still audited."""

from django.core import mail
from django.core.management import call_command

from assignments.models import User
from audit.models import AuditEvent
from notifications.email import email_enqueue
from notifications.models import OutboxMessage
from notifications.outbox import outbox_relay_once


def test_demo_data_leaves_no_email_to_send(db, capsys):
    call_command("pim_demo_data")
    capsys.readouterr()

    assert not OutboxMessage.objects.filter(status=OutboxMessage.Status.PENDING).exists()
    unsent = OutboxMessage.objects.filter(channel="email", status=OutboxMessage.Status.DELIVERED,
                                          last_error="Not sent: demo data")
    assert unsent.count() > 50  # the rows are there, marked as never sent
    mail.outbox.clear()
    assert outbox_relay_once() == 0
    assert mail.outbox == []
    # The demo's changes are audited as they happened.
    assert AuditEvent.objects.filter(action="assignment.create").count() > 50
    assert AuditEvent.objects.filter(action="request.self_activate").count() > 10


def test_email_after_the_demo_load_is_sent_again(db, capsys):
    call_command("pim_demo_data")
    capsys.readouterr()
    email_enqueue(recipients=[User.objects.get(username="alice").email], template="email/mfa_enrolled",
                  context={"user": "Alice"}, dedupe_key="after-demo")
    assert OutboxMessage.objects.get(dedupe_key__startswith="after-demo").status == OutboxMessage.Status.PENDING
