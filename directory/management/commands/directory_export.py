"""`manage.py directory_export [--format json|csv] [--output FILE]`: the export the import reads back."""

from pathlib import Path

from django.core.management.base import BaseCommand

from core.actors import Actor
from directory.bulk_import import export_bytes


class Command(BaseCommand):
    help = "Export scopes, users, groups (with members) and assignments in the bulk import's format."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["csv", "json"], default="json")
        parser.add_argument("--output", default="-", help="The file to write ('-': standard output).")

    def handle(self, *args, **options):
        data = export_bytes(actor=Actor.system("directory-export"), fmt=options["format"])
        if options["output"] == "-":
            self.stdout.write(data.decode(), ending="")
        else:
            Path(options["output"]).write_bytes(data)
            self.stderr.write(f"Wrote {options['output']}.")
