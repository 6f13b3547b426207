"""The run command (`make run`, after scripts/run.sh has made the virtualenv).

Sets up (migrate, bootstrap and demo data, collectstatic), then runs the web server and the Celery
worker with beat and supervises them: a child that exits is reported — which one, its exit code or
signal, the last lines of its log — and started again after a back-off (1 s doubling to 30 s; back
to 1 s once it has run a minute). Ctrl+C (SIGINT) or SIGTERM stops both.

The portal runs as in production (DEBUG off: the portal's own error pages, static files served by
WhiteNoise from `collectstatic`), on plain HTTP on loopback: a secret key kept in `var/secret-key`,
no HTTPS redirect, cookies without the Secure flag. Every variable can still be set from outside.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parents[1]
# The key settings.py falls back to in development (DEBUG on): what `make run` signed the audit log
# with before it ran with DEBUG off. Kept as a fallback so an existing var/ still verifies.
DEV_SECRET_KEY = "dev-insecure-pim-portal-key-change-me-in-production-0123456789"
EMERGENCY_LINE = "Emergency access account"


def _secret_key(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(50)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    return key


def run_environment(environ: dict[str, str], root: Path = ROOT) -> dict[str, str]:
    """The environment of every process of the run command."""
    env = dict(environ)
    host = env.setdefault("PIM_HOST", "127.0.0.1")
    port = env.setdefault("PIM_PORT", "8000")
    var = Path(env.setdefault("PIM_VAR_DIR", str(root / "var")))
    var.mkdir(parents=True, exist_ok=True)
    (var / "log").mkdir(exist_ok=True)
    env.setdefault("PIM_SITE_URL", f"http://{host}:{port}")
    env.setdefault("DJANGO_DEBUG", "0")
    if not env.get("DJANGO_SECRET_KEY"):
        had_database = (var / "pim.sqlite3").exists() and not (var / "secret-key").exists()
        env["DJANGO_SECRET_KEY"] = _secret_key(var / "secret-key")
        if had_database and not env.get("PIM_AUDIT_SIGNING_KEY"):
            derived = hmac.new(DEV_SECRET_KEY.encode(), b"pim-portal.audit.checkpoint-signing-key", hashlib.sha256)
            fallbacks = [k for k in env.get("PIM_AUDIT_SIGNING_KEY_FALLBACKS", "").split(",") if k]
            env["PIM_AUDIT_SIGNING_KEY_FALLBACKS"] = ",".join([*fallbacks, derived.hexdigest()])
    if not env.get("PROMETHEUS_MULTIPROC_DIR"):
        # The two web workers add up their request metrics through files here (emptied at each start:
        # samples of processes that are gone would otherwise be counted again).
        metrics_dir = var / "prometheus"
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
    env.setdefault("DJANGO_SECURE_COOKIES", "0")
    env.setdefault("DJANGO_ALLOWED_HOSTS", ",".join(dict.fromkeys(["localhost", "127.0.0.1", "[::1]", host])))
    return env


# --- supervision ------------------------------------------------------------------------------------


def describe_exit(returncode: int) -> str:
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"killed by {name}"
    return f"exit code {returncode}"


def tail(path: Path, lines: int = 12) -> list[str]:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16384))
            return f.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError:
        return []


@dataclass
class Child:
    name: str
    argv: list[str]
    log: Path
    env: dict[str, str] | None = None
    cwd: Path = ROOT
    proc: subprocess.Popen | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 0.0
    restart_at: float | None = None
    history: list[int] = field(default_factory=list)

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.started_at = time.monotonic()
        self.restart_at = None


def supervise(children: list[Child], *, out: TextIO = sys.stdout, should_stop: Callable[[], bool] = lambda: False,
              initial_backoff: float = 1.0, max_backoff: float = 30.0, stable_after: float = 60.0,
              poll: float = 0.5) -> None:
    """Run `children` until `should_stop()`; restart each one that exits, saying which and why."""
    for child in children:
        child.start()
    try:
        while not should_stop():
            now = time.monotonic()
            for child in children:
                if child.proc is not None and child.restart_at is None:
                    code = child.proc.poll()
                    if code is None:
                        continue
                    child.history.append(code)
                    ran = now - child.started_at
                    child.backoff = initial_backoff if ran >= stable_after or not child.backoff else min(
                        max_backoff, child.backoff * 2)
                    child.restart_at = now + child.backoff
                    lines = tail(child.log)
                    print(f"\n!! The {child.name} stopped ({describe_exit(code)}) after {ran:.0f} s. "
                          f"Last lines of {child.log}:", file=out)
                    for line in lines:
                        print(f"   | {line}", file=out)
                    print(f"!! Starting the {child.name} again in {child.backoff:g} s "
                          f"(restart {child.restarts + 1}).", file=out, flush=True)
                elif child.restart_at is not None and now >= child.restart_at:
                    child.restarts += 1
                    child.start()
                    print(f"!! The {child.name} is running again (pid {child.proc.pid}).", file=out, flush=True)
            time.sleep(poll)
    finally:
        stop_children(children)


def stop_children(children: list[Child], timeout: float = 15.0) -> None:
    running = [c.proc for c in children if c.proc is not None and c.proc.poll() is None]
    for proc in running:
        try:
            proc.terminate()
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the run command ----------------------------------------------------------------------------------


def set_up(env: dict[str, str], py: str, out: TextIO = sys.stdout) -> None:
    var = Path(env["PIM_VAR_DIR"])
    subprocess.run([py, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    demo = subprocess.run([py, "manage.py", "pim_demo_data"], cwd=ROOT, env=env, capture_output=True, text=True)
    out.write(demo.stdout)
    sys.stderr.write(demo.stderr)
    if demo.returncode:
        raise SystemExit(f"Loading the demo data failed (exit code {demo.returncode}); see above.")
    # The emergency access passwords are shown once, here; the file keeps only the demo logins.
    logins = [line for line in demo.stdout.splitlines(keepends=True) if EMERGENCY_LINE not in line]
    (var / "log" / "demo-logins.txt").write_text("".join(logins))
    subprocess.run([py, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def children_of(env: dict[str, str], bin_dir: Path) -> list[Child]:
    var = Path(env["PIM_VAR_DIR"])
    log = var / "log"
    return [
        Child("worker", [str(bin_dir / "celery"), "-A", "pim_portal", "worker", "--beat", "--concurrency", "2",
                         "--loglevel", "INFO", "--schedule", str(var / "celerybeat-schedule")],
              log / "worker.log", env),
        Child("web server", [str(bin_dir / "gunicorn"), "pim_portal.wsgi:application",
                             "--bind", f"{env['PIM_HOST']}:{env['PIM_PORT']}", "--workers", "2", "--threads", "4",
                             "--access-logfile", str(log / "access.log"), "--error-logfile", "-"],
              log / "web.log", env),
    ]


def main() -> int:
    env = run_environment(dict(os.environ))
    bin_dir = ROOT / ".venv" / "bin"
    set_up(env, str(bin_dir / "python"))
    var = Path(env["PIM_VAR_DIR"])
    stopping: list[int] = []

    def stop(signum, frame):
        if not stopping:
            print("\nStopping the portal ...", flush=True)
        stopping.append(signum)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = children_of(env, bin_dir)
    print(f"""
  PIM portal is running at {env['PIM_SITE_URL']}/
  Readiness: {env['PIM_SITE_URL']}/readyz (ready once a worker ran the beat's heartbeat job);
  Prometheus metrics: {env['PIM_SITE_URL']}/metrics (from loopback).
  Demo logins are listed above (also in {var}/log/demo-logins.txt).
  Emails are written to {var}/mail/ (MFA enrolment codes too), logs to {var}/log/. Press Ctrl+C to stop.
""", flush=True)
    supervise(children, should_stop=lambda: bool(stopping))
    print("Stopped the portal.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
