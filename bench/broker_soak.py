"""Soak test of the embedded Celery broker: tasks through a real worker, from concurrent producers.

    .venv/bin/python bench/broker_soak.py [--tasks 20000] [--producers 4] [--kill-worker-at 5000]
                                          [--broker pimsqlite://] [--keep]

Creates a scratch var directory (the embedded defaults of `make run`: `CELERY_BROKER_URL` unset),
starts `celery -A pim_portal worker` (prefork, concurrency 2, as `make run` does) with the probe task
below, and runs `--producers` processes that publish `--tasks` probe tasks between them through the
portal's Celery app. Each execution appends its number to a file of the pool process that ran it.
With `--kill-worker-at N` the worker's whole process group is killed with SIGKILL once N tasks have
run (a crash mid-task, with tasks claimed and unacknowledged) and a new worker is started.

Passes when no worker died on its own, and every task ran (at least once); prints the rate, the
number of tasks that ran twice (only tasks in flight at a kill may) and exits 1 otherwise.
`--broker filesystem://` runs the same against kombu's filesystem transport, for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
CELERY = str(Path(PYTHON).with_name("celery"))

if os.environ.get("PIM_SOAK_DIR"):
    # Loaded by the worker (--include bench.broker_soak): the probe task.
    from pim_portal.celery import app

    @app.task(name="bench.broker_probe", ignore_result=True)
    def broker_probe(n: int) -> None:
        path = Path(os.environ["PIM_SOAK_DIR"]) / f"executed-{os.getpid()}.log"
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{n}\n".encode())
        finally:
            os.close(fd)


def _env(var_dir: Path, soak_dir: Path, broker: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "DATABASE_URL")}
    env.update(PIM_VAR_DIR=str(var_dir), PIM_SOAK_DIR=str(soak_dir), PYTHONPATH=str(ROOT),
               DJANGO_SETTINGS_MODULE="pim_portal.settings", PIM_LOG_LEVEL="WARNING")
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    if broker:
        env["CELERY_BROKER_URL"] = broker
    return env


def executed(soak_dir: Path) -> Counter:
    counts: Counter = Counter()
    for path in soak_dir.glob("executed-*.log"):
        for line in path.read_text().split("\n"):
            if line.strip():
                counts[int(line)] += 1
    return counts


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [CELERY, "-A", "pim_portal", "worker", "--include", "bench.broker_soak", "--concurrency", "2",
         "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )


def _stop(worker: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """SIGTERM to the worker (a warm shutdown), SIGKILL to its whole process group (a crash)."""
    try:
        if sig == signal.SIGKILL:
            os.killpg(worker.pid, sig)
        else:
            os.kill(worker.pid, sig)
    except ProcessLookupError:
        return
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()


def soak(*, tasks: int, producers: int, kill_worker_at: int | None = None, broker: str | None = None,
         var_dir: Path | None = None, timeout: float = 1800.0, log=print) -> dict:
    """Run the soak; return its figures (`missing`, `duplicates`, `worker_deaths`, `seconds`, …)."""
    scratch = Path(tempfile.mkdtemp(prefix="pim-soak-")) if var_dir is None else var_dir
    soak_dir = scratch / "soak"
    soak_dir.mkdir(parents=True, exist_ok=True)
    env = _env(scratch / "var", soak_dir, broker)
    worker_log = scratch / "worker.log"
    started = time.monotonic()
    worker = _start_worker(env, worker_log)
    per = -(-tasks // producers)
    procs = [
        subprocess.Popen([PYTHON, str(Path(__file__).resolve()), "--produce", str(i * per),
                          str(min(per, tasks - i * per))], cwd=ROOT, env=env)
        for i in range(producers) if i * per < tasks
    ]
    worker_deaths, kills, done = 0, 0, Counter()
    deadline = started + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        done = executed(soak_dir)
        if worker.poll() is not None:  # it died on its own
            worker_deaths += 1
            log(f"worker died on its own (exit {worker.returncode}) after {len(done)} tasks; restarting it")
            worker = _start_worker(env, worker_log)
        elif kill_worker_at and not kills and len(done) >= kill_worker_at:
            kills += 1
            log(f"killing the worker's process group with SIGKILL after {len(done)} tasks")
            _stop(worker, signal.SIGKILL)
            worker = _start_worker(env, worker_log)
        if len(done) >= tasks and all(p.poll() is not None for p in procs):
            break
    time.sleep(1.0)
    done = executed(soak_dir)
    seconds = time.monotonic() - started
    _stop(worker)
    for p in procs:
        if p.poll() is None:
            p.kill()
        p.wait()
    expected = set(range(tasks))
    result = {
        "tasks": tasks,
        "executed": len(set(done) & expected),
        "missing": len(expected - set(done)),
        "duplicates": sum(c - 1 for c in done.values() if c > 1),
        "worker_deaths": worker_deaths,
        "kills": kills,
        "producer_failures": sum(1 for p in procs if p.returncode != 0),
        "seconds": round(seconds, 1),
        "rate": round(len(done) / seconds, 1) if seconds else 0.0,
        "worker_log_tail": worker_log.read_text(errors="replace")[-3000:] if worker_log.exists() else "",
        "dir": str(scratch),
    }
    if var_dir is None and not result["missing"] and not result["worker_deaths"]:
        shutil.rmtree(scratch, ignore_errors=True)
    return result


def _produce(start: int, count: int) -> None:
    import django

    django.setup()
    from pim_portal.celery import app

    for n in range(start, start + count):
        app.send_task("bench.broker_probe", args=[n])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--producers", type=int, default=4)
    parser.add_argument("--kill-worker-at", type=int, default=None)
    parser.add_argument("--broker", default=None, help="default: the embedded default (CELERY_BROKER_URL unset)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--produce", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.produce:
        _produce(*args.produce)
        return 0
    var_dir = Path(tempfile.mkdtemp(prefix="pim-soak-")) if args.keep else None
    r = soak(tasks=args.tasks, producers=args.producers, kill_worker_at=args.kill_worker_at, broker=args.broker,
             var_dir=var_dir)
    print(f"broker: {args.broker or 'embedded default'}; {r['tasks']} tasks from {args.producers} producers")
    print(f"executed {r['executed']}, missing {r['missing']}, ran twice {r['duplicates']}, "
          f"worker deaths {r['worker_deaths']}, kills {r['kills']}, producer failures {r['producer_failures']}")
    print(f"{r['seconds']} s, {r['rate']} tasks/s")
    ok = not r["missing"] and not r["worker_deaths"] and not r["producer_failures"]
    if not ok:
        print(r["worker_log_tail"])
        print(f"scratch directory kept: {r['dir']}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
