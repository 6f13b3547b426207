"""A consumer of the embedded broker killed (SIGKILL) between taking a message and acknowledging it:
the message goes to another consumer, within seconds. kombu's filesystem transport deletes a message
file as it is read, so the message is lost."""

import os
import signal
import subprocess
import sys

from .test_embedded_broker_hands_every_message_out_once_to_concurrent_consumers import ROOT, SCRIPT, embedded_env


def test_an_unacknowledged_message_of_a_killed_consumer_is_delivered_again(tmp_path):
    env = embedded_env(tmp_path / "var")
    subprocess.run([sys.executable, str(SCRIPT), "produce", "only", "1", "10"], env=env, cwd=ROOT, check=True,
                   timeout=120)
    holder = subprocess.Popen([sys.executable, str(SCRIPT), "consume", "--hold"], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "only-0"  # taken, not acknowledged
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)

    env.update(PIM_RACE_IDLE="2", PIM_RACE_GRACE="15")
    second = subprocess.run([sys.executable, str(SCRIPT), "consume"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == ["only-0"]
