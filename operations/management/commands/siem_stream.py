import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from operations.siem import siem_stream_deliver
from operations.siem_sinks import SiemError


class Command(BaseCommand):
    help = ("Send the audit log to the SIEM consumers of PIM_SIEM_STREAMS from their cursors (the beat job "
            "siem-stream does this every PIM_SIEM_STREAM_EVERY_SECONDS; this runs it by hand or as its own process).")

    def add_arguments(self, parser):
        parser.add_argument("--stream", action="append", help="only this consumer (repeatable)")
        parser.add_argument("--follow", action="store_true", help="keep streaming, every --interval seconds")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, stream=None, follow=False, interval=1.0, **options):
        streams = settings.PIM_SIEM_STREAMS
        if not streams:
            raise CommandError("PIM_SIEM_STREAMS is empty: name=url pairs, e.g. soc=syslog+tls://siem:6514")
        unknown = sorted(set(stream or []) - set(streams))
        if unknown:
            raise CommandError(f"Not in PIM_SIEM_STREAMS: {', '.join(unknown)}")
        chosen = {name: url for name, url in streams.items() if not stream or name in stream}
        while True:
            for name, url in chosen.items():
                try:
                    sent = siem_stream_deliver(name=name, url=url)
                except SiemError as error:
                    raise CommandError(f"{name}: {error}")
                if sent or not follow:
                    self.stdout.write(f"{name}: {sent} records confirmed")
            if not follow:
                return
            time.sleep(interval)
