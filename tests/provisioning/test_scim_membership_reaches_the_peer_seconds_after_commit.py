"""With the relay kicked on commit (as the Celery task is in production), an activation's membership
is in the application well within seconds of the commit. Prints the measured time."""

import time

import pytest

from notifications import outbox
from notifications.tasks import outbox_relay
from provisioning import scim_protocol  # noqa: F401 — a running worker has imported it already

# A bound on wall-clock latency: measured without another test on the cores.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.serial]


def test_membership_in_the_peer_seconds_after_commit(directory, scim_app, scim_peer, activate, monkeypatch):
    marks = {}

    def kick_in_process():
        marks.setdefault("commit", time.monotonic())
        outbox_relay.apply()  # the task body, in-process (no broker, no worker)
        marks["relayed"] = time.monotonic()

    monkeypatch.setattr(outbox, "outbox_kick", kick_in_process)
    alice = directory.user("alice")
    eligible = directory.add_member(scim_app.group, alice, kind="eligible")
    marks.clear()

    activate(alice, eligible)

    assert scim_peer.member_names(scim_app.group.object_id) == {"alice"}
    elapsed = marks["relayed"] - marks["commit"]
    print(f"\nactivation commit → SCIM membership in the peer: {elapsed * 1000:.0f} ms "
          f"({scim_peer.requests} SCIM requests)")
    assert elapsed < 5
