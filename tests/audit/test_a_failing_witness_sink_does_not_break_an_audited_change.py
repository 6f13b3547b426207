"""The witness is written after commit, outside the chain head's lock: a sink that fails (a missing
directory, a refused connection) is logged and kept in the witness state, the audited change and the
checkpoint stand, and the checkpoint job writes what the witness missed once the sink is back."""

import logging
import socket

import pytest

from audit.models import AuditCheckpoint, AuditEvent, AuditWitnessState
from audit.tasks import audit_checkpoint


def _refused_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connections to it are refused
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["file", "syslog+tcp", "https"])
def failing_sink(request, settings, tmp_path):
    settings.PIM_AUDIT_WITNESS_SECRET = "witness-secret-for-tests"
    settings.PIM_AUDIT_WITNESS = {
        "file": (tmp_path / "no-such-volume" / "witness.jsonl").as_uri(),
        "syslog+tcp": f"syslog+tcp://127.0.0.1:{_refused_port()}",
        "https": f"https://127.0.0.1:{_refused_port()}/witness",
    }[request.param]
    settings.PIM_AUDIT_WITNESS_EVERY_EVENTS = 1  # the job is queued after every commit
    return request.param


def test_the_change_commits_and_the_sink_is_retried(failing_sink, directory, celery_eager, settings, tmp_path,
                                                     django_capture_on_commit_callbacks, caplog):
    caplog.set_level(logging.WARNING, logger="audit.witness")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        user = directory.user("witnessed")
    assert callbacks, "the witness job was queued on commit"
    assert user.pk and AuditEvent.objects.filter(target_id=str(user.pk)).exists()
    state = AuditWitnessState.objects.get(pk=1)
    assert state.last_error and state.failing_since is not None and state.witnessed_at is None
    assert "failed, retried by the next run" in caplog.text

    with django_capture_on_commit_callbacks(execute=True):
        checkpoint_id = audit_checkpoint()
    assert AuditCheckpoint.objects.filter(pk=checkpoint_id).exists()
    assert AuditWitnessState.objects.get(pk=1).last_checkpoint_id == 0

    fixed = tmp_path / "witness.jsonl"
    settings.PIM_AUDIT_WITNESS = fixed.as_uri()
    assert audit_checkpoint() is None  # nothing new to sign: the job retries the witness
    state = AuditWitnessState.objects.get(pk=1)
    assert state.last_error == "" and state.failing_since is None and state.last_checkpoint_id == checkpoint_id
    assert f'"checkpoint":{checkpoint_id}' in fixed.read_text()
