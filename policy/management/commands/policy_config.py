"""`manage.py policy_config export [--output FILE]`, `plan FILE [--prune]`, `apply FILE --reason WHY [--prune]`:
the policy as YAML from a shell (the system acts; under dual control `apply` refuses: import as a person through the API
or the page, where it becomes a proposal). `plan` exits 2 when there are changes (like
`terraform plan -detailed-exitcode`), so CI can tell drift from a clean state; 1 on a refused document."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.actors import Actor
from core.errors import DomainError
from policy import documents, services


class Command(BaseCommand):
    help = "Export, plan or apply the portal's configuration (roles, scopes, settings, mappings, eligibility) as YAML."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["export", "plan", "apply"])
        parser.add_argument("file", nargs="?", default="-", help="The YAML file ('-': standard input / output).")
        parser.add_argument("--output", default="", help="export: the file to write (default: standard output).")
        parser.add_argument("--reason", default="", help="apply: why (recorded with every version and audited).")
        parser.add_argument("--prune", action="store_true",
                            help="plan, apply: also delete the eligibility, connector mappings, approval stages and "
                                 "dual control the document does not list.")

    def _read(self, name: str) -> str:
        if name == "-":
            return sys.stdin.read()
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"No such file: {name}")
        return path.read_text(encoding="utf-8")

    def handle(self, *args, **options):
        action = options["action"]
        if action == "export":
            text = documents.config_export_yaml()
            output = options["output"] or (options["file"] if options["file"] != "-" else "")
            if output:
                Path(output).write_text(text, encoding="utf-8")
                self.stderr.write(f"Wrote {output}.")
            else:
                self.stdout.write(text, ending="")
            return
        text = self._read(options["file"])
        try:
            if action == "plan":
                plan = documents.config_plan(text, prune=options["prune"])
                self.stdout.write(plan.as_text())
                if plan.changes:
                    raise SystemExit(2)
                return
            outcome = services.config_import(actor=Actor.system("policy-import"), text=text,
                                             reason=options["reason"], prune=options["prune"])
        except DomainError as error:
            for field, message in error.field_errors():
                self.stderr.write(f"{field or 'document'}: {message}" if field else message)
            raise SystemExit(1)
        self.stdout.write(self.style.SUCCESS(outcome.message))
