from django.core.management.base import BaseCommand

from assignments.bootstrap import bootstrap_all
from portal.demo import demo_load


class Command(BaseCommand):
    help = "Load a demo organisation (idempotent) and print the demo logins."

    def handle(self, *args, **options):
        bootstrap_all()
        logins = demo_load()
        self.stdout.write(self.style.SUCCESS("Demo data loaded. Demo logins:"))
        for username, password, what in logins:
            self.stdout.write(f"  {username:<6} / {password}  — {what}")
