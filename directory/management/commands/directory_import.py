"""`manage.py directory_import FILE [--apply]`: the bulk import from a shell, as the system.

Without --apply it is a dry run: it prints what each row would do and writes nothing. With --apply the
whole file is applied in one transaction, or nothing is when any row is refused. Exit status 1 when a
row was refused, so scripts can tell.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.errors import DomainError
from directory.bulk_import import import_run


class Command(BaseCommand):
    help = "Import scopes, users, groups (with members) and assignments from a CSV or JSON file (dry run unless " \
           "--apply)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV or JSON file ('-' reads standard input).")
        parser.add_argument("--apply", action="store_true", help="Write the changes (default: dry run).")
        parser.add_argument("--format", choices=["csv", "json"], default="",
                            help="The file's format (default: from its name or its first character).")
        parser.add_argument("--verbose-rows", action="store_true", help="Print every row's outcome.")

    def handle(self, *args, **options):
        name = options["file"]
        if name == "-":
            import sys

            data, filename = sys.stdin.buffer.read(), "stdin"
        else:
            path = Path(name)
            if not path.is_file():
                raise CommandError(f"No such file: {name}")
            data, filename = path.read_bytes(), path.name
        try:
            report = import_run(data=data, fmt=options["format"], filename=filename, apply=options["apply"],
                                actor=Actor.system("directory-import"))
        except DomainError as error:
            raise CommandError(error.message)
        if options["verbose_rows"]:
            for outcome in report.outcomes:
                self.stdout.write(f"{outcome.where}: {outcome.record} {outcome.key}: {outcome.result}")
        for error in report.errors:
            column = f" [{error.column}]" if error.column else ""
            self.stderr.write(f"{error.where}{column}: {error.record}: {error.message}")
        style = self.style.ERROR if report.errors else self.style.SUCCESS
        self.stdout.write(style(report.summary))
        if report.errors:
            raise SystemExit(1)
