from django.core.management.base import BaseCommand

from assignments.bootstrap import bootstrap_all
from portal.demo import demo_load


class Command(BaseCommand):
    help = ("Bootstrap the directory, load a demo organisation (idempotent) and print the demo logins; on "
            "first set-up also the emergency access passwords (once).")

    def handle(self, *args, **options):
        result = bootstrap_all()
        for username, password in result.emergency_passwords.items():
            self.stdout.write(self.style.WARNING(
                f"Emergency access account {username} password (shown once, store it in a safe): {password}"))
        logins = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Demo logins:"))
        for username, password, what in logins:
            self.stdout.write(f"  {username:<6} / {password}  — {what}")
