"""Producer and consumer processes for the embedded broker's tests (run as a script).

    python tests/jobs/broker_race.py produce NAME COUNT SIZE     # publish COUNT messages of SIZE bytes
    python tests/jobs/broker_race.py consume [--hold]            # print each message's id, acknowledge it

The broker is the embedded default: `CELERY_BROKER_URL` unset, under `PIM_VAR_DIR`. A consumer stops
after `PIM_RACE_IDLE` seconds without a message (`PIM_RACE_GRACE` more before its first one); with
--hold it takes one message, prints it and waits to be killed without acknowledging it.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pim_portal.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from kombu import Connection  # noqa: E402

import pim_portal  # noqa: E402, F401  registers the embedded transport


def connection() -> Connection:
    options = dict(settings.CELERY_BROKER_TRANSPORT_OPTIONS, polling_interval=0.01)
    return Connection(settings.CELERY_BROKER_URL, transport_options=options)


def produce(name: str, count: int, size: int) -> None:
    filler = "x" * size
    with connection() as conn:
        queue = conn.SimpleQueue("race")
        for n in range(count):
            queue.put({"id": f"{name}-{n}", "filler": filler})
        queue.close()


def consume(hold: bool) -> None:
    idle = float(os.environ.get("PIM_RACE_IDLE", "5"))
    with connection() as conn:
        queue = conn.SimpleQueue("race")
        last = time.monotonic() + float(os.environ.get("PIM_RACE_GRACE", "20"))  # the producers start up
        while time.monotonic() - last < idle:
            try:
                message = queue.get(timeout=0.5)
            except queue.Empty:
                continue
            print(message.payload["id"], flush=True)
            if hold:
                time.sleep(3600)
            message.ack()
            last = time.monotonic()
        queue.close()


if __name__ == "__main__":
    if sys.argv[1] == "produce":
        produce(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        consume("--hold" in sys.argv)
