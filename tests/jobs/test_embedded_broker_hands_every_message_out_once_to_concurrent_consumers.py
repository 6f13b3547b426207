"""The embedded broker (`make run`'s default) under concurrent producers and consumers: every
message whole, every message once. kombu's filesystem transport fails this: a consumer picks up a
message file before its producer has written it (an empty or half-written file), and the consumer
dies of `JSONDecodeError`."""

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

SCRIPT = Path(__file__).with_name("broker_race.py")
ROOT = SCRIPT.parents[2]


def embedded_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(PIM_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="pim_portal.settings", PIM_RACE_IDLE="4")
    return env


def test_concurrent_producers_and_consumers_see_every_message_once(tmp_path):
    env = embedded_env(tmp_path / "var")
    producers, per_producer = 3, 150
    consumers = [subprocess.Popen([sys.executable, str(SCRIPT), "consume"], env=env, cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    publishing = [subprocess.Popen([sys.executable, str(SCRIPT), "produce", f"p{i}", str(per_producer), "65536"],
                                   env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True) for i in range(producers)]
    for p in publishing:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    received: Counter = Counter()
    for c in consumers:
        out, err = c.communicate(timeout=300)
        assert c.returncode == 0, f"a consumer died: {err[-2000:]}"
        received.update(out.split())
    expected = {f"p{i}-{n}" for i in range(producers) for n in range(per_producer)}
    assert set(received) == expected, f"{len(expected - set(received))} messages lost"
    assert max(received.values()) == 1, "a message was handed out twice"
