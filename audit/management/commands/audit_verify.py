import sys
import time

from django.core.management.base import BaseCommand, CommandError

from audit.integrity import audit_chain_verify
from audit.witness_sinks import WitnessError


class Command(BaseCommand):
    help = ("Verify the audit log: seq contiguity, each hash, each link to the previous event, the signed "
            "checkpoints and the chain head, then the external witness (--witness, or the configured file "
            "sink). Streams in bounded memory. Exits 1 and names the first bad event when the log was "
            "tampered with.")

    def add_arguments(self, parser):
        parser.add_argument("--chunk", type=int, default=5000, help="events per query (default 5000)")
        parser.add_argument("--progress", action="store_true", help="print a line every 100,000 events")
        parser.add_argument("--witness", metavar="PATH_OR_FILE_URL",
                            help="witness lines to check against (default: PIM_AUDIT_WITNESS when it is a file); "
                                 "export syslog or HTTP witnesses to a file first")

    def handle(self, *args, chunk, progress, witness, **options):
        started = time.monotonic()

        def report(count: int) -> None:
            self.stderr.write(f"… {count} events verified ({count / (time.monotonic() - started):,.0f}/s)")

        try:
            result = audit_chain_verify(chunk=chunk, progress=report if progress else None, witness=witness)
        except WitnessError as error:
            raise CommandError(f"cannot check the witness: {error}")
        elapsed = time.monotonic() - started
        if result.ok:
            self.stdout.write(f"{result.summary()} in {elapsed:.1f}s")
            return
        self.stdout.write(result.summary())
        sys.exit(1)
