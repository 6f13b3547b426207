"""`make run` supervises the web server and the worker: a child that dies is reported (its name, its
exit code or signal, the last lines of its log) and started again, with a back-off; the other child
keeps running. Before, `wait -n` stopped everything and the terminal said only `make: *** Error 1`."""

import io
import sys
import time


def test_a_child_that_exits_is_reported_and_restarted(run_script, tmp_path):
    marker = tmp_path / "starts"
    flaky = (
        "import pathlib, sys, time\n"
        f"p = pathlib.Path({str(marker)!r}); n = int(p.read_text()) if p.exists() else 0; p.write_text(str(n + 1))\n"
        "if n == 0:\n"
        "    print('json.decoder.JSONDecodeError: Expecting value', flush=True); sys.exit(3)\n"
        "time.sleep(60)\n"
    )
    worker = run_script.Child("worker", [sys.executable, "-c", flaky], tmp_path / "worker.log")
    web = run_script.Child("web server", [sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "web.log")
    out = io.StringIO()
    deadline = time.monotonic() + 30

    def done():
        return time.monotonic() > deadline or (worker.restarts == 1 and marker.read_text() == "2")

    run_script.supervise([worker, web], out=out, should_stop=done, initial_backoff=0.2, poll=0.05)

    said = out.getvalue()
    assert "The worker stopped (exit code 3)" in said
    assert "| json.decoder.JSONDecodeError: Expecting value" in said  # its last log lines
    assert "Starting the worker again in 0.2 s (restart 1)" in said
    assert "The worker is running again" in said
    assert marker.read_text() == "2"
    assert web.restarts == 0 and "web server stopped" not in said
    # Stopping the supervisor stops the children.
    assert worker.proc.poll() is not None and web.proc.poll() is not None


def test_a_child_killed_by_a_signal_is_named_with_the_signal(run_script):
    assert run_script.describe_exit(-9) == "killed by SIGKILL"
    assert run_script.describe_exit(1) == "exit code 1"


def test_a_child_that_keeps_dying_backs_off(run_script, tmp_path):
    crash = run_script.Child("worker", [sys.executable, "-c", "raise SystemExit(1)"], tmp_path / "worker.log")
    out = io.StringIO()
    deadline = time.monotonic() + 20
    run_script.supervise([crash], out=out, should_stop=lambda: crash.restarts >= 3 or time.monotonic() > deadline,
                         initial_backoff=0.1, max_backoff=0.4, poll=0.02)
    said = out.getvalue()
    assert "again in 0.1 s (restart 1)" in said
    assert "again in 0.2 s (restart 2)" in said
    assert "again in 0.4 s (restart 3)" in said
