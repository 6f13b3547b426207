"""Under pytest-xdist (`make test`), a test marked `serial` runs while no other worker runs a test:
every test holds the run's lock shared and a serial one exclusively; a serial test holds the
turnstile that the others pass on their way in, so that they wait for it instead of starving it."""

import fcntl

import pytest

from tests.conftest import _beside_other_workers, _lock_files


def _free_for(path, operation) -> bool:
    """Could another worker take `path`'s lock (LOCK_SH or LOCK_EX) now?"""
    with path.open("a") as other_worker:
        try:
            fcntl.flock(other_worker, operation | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(other_worker, fcntl.LOCK_UN)
        return True


@pytest.fixture
def run(monkeypatch, tmp_path):
    """A run of its own (not the one this test may be part of)."""
    run = f"lock-test-{tmp_path.name}"
    monkeypatch.setenv("PYTEST_XDIST_TESTRUNUID", run)
    yield _lock_files(run)
    for path in _lock_files(run):
        path.unlink(missing_ok=True)


def test_tests_run_beside_each_other_but_not_beside_a_serial_one(run):
    turnstile, lock = run
    with _beside_other_workers(alone=False):
        assert _free_for(turnstile, fcntl.LOCK_EX)
        assert _free_for(lock, fcntl.LOCK_SH)  # another test may run
        assert not _free_for(lock, fcntl.LOCK_EX)  # a serial one waits
    assert _free_for(lock, fcntl.LOCK_EX)


def test_a_serial_test_runs_alone_and_holds_the_turnstile(run):
    turnstile, lock = run
    with _beside_other_workers(alone=True):
        assert not _free_for(turnstile, fcntl.LOCK_EX)  # the others wait on their way in
        assert not _free_for(lock, fcntl.LOCK_SH)
    assert _free_for(turnstile, fcntl.LOCK_EX) and _free_for(lock, fcntl.LOCK_EX)


def test_in_one_process_nothing_is_locked(monkeypatch, tmp_path):
    monkeypatch.delenv("PYTEST_XDIST_TESTRUNUID", raising=False)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    with _beside_other_workers(alone=True):
        assert list(tmp_path.iterdir()) == []
