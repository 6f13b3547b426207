from django.core.management.base import BaseCommand

from assignments.bootstrap import bootstrap_all


class Command(BaseCommand):
    help = (
        "Create the root scope, built-in roles, default role settings and two emergency access accounts "
        "(idempotent)."
    )

    def handle(self, *args, **options):
        result = bootstrap_all()
        if result.created_roles:
            self.stdout.write(f"Created {len(result.created_roles)} built-in roles.")
        for username, password in result.emergency_passwords.items():
            self.stdout.write(self.style.WARNING(
                f"Emergency access account {username} password (shown once, store it in a safe): {password}"))
        self.stdout.write(self.style.SUCCESS("Bootstrap complete."))
