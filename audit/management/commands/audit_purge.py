import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from audit.services import AuditIntegrityError, audit_purge


class Command(BaseCommand):
    help = ("Delete audit events older than --before (a UTC date or ISO datetime). Retention is indefinite "
            "otherwise. The purge is itself audited and leaves a signed anchor so audit_verify still passes. "
            "Does nothing without --confirm.")

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, help="YYYY-MM-DD (UTC midnight) or an ISO-8601 datetime")
        parser.add_argument("--reason", default="", help="why (recorded in the purge event)")
        parser.add_argument("--confirm", action="store_true", help="really delete")

    def handle(self, *args, before, reason, confirm, **options):
        try:
            when = datetime.fromisoformat(before)
        except ValueError as error:
            raise CommandError(f"--before: {error}") from error
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if not confirm:
            self.stdout.write(f"Would purge the audit events before {when.isoformat()}: add --confirm to do it.")
            sys.exit(2)
        try:
            summary = audit_purge(before=when, reason=reason or "manage.py audit_purge")
        except AuditIntegrityError as error:
            raise CommandError(str(error)) from error
        if summary["deleted"]:
            self.stdout.write(f"Purged {summary['deleted']} events (#{summary['first_seq']}–#{summary['last_seq']}); "
                              f"the log now starts at #{summary['last_seq'] + 1}.")
        else:
            self.stdout.write("Nothing to purge.")
