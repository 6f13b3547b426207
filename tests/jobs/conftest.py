"""Fixtures for the jobs and notifications tests: policies, eligibility, activation, and real
components started by the tests themselves (an SMTP server, a Redis server, a Celery worker)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def policy(directory):
    """Set a role's policy at a scope (root by default); approval/MFA/justification off unless asked."""
    from assignments import services

    def _policy(slug, scope=None, approvers=None, **values):
        defaults = {"require_mfa_on_activation": False, "require_justification_on_activation": False,
                    "require_ticket_on_activation": False, "require_approval": False}
        defaults.update(values)
        return services.role_setting_update(
            actor=SETUP, role=directory.role(slug), scope=scope or directory.root, values=defaults,
            approver_ids=None if approvers is None else [getattr(p, "principal", p).pk for p in approvers])

    return _policy


@pytest.fixture
def activate():
    from approvals import services

    def _activate(user, eligible_assignment, **kwargs):
        kwargs.setdefault("duration_minutes", 60)
        kwargs.setdefault("justification", "incident 42")
        kwargs.setdefault("mfa_verified_at", timezone.now())
        return services.request_self_activate(actor=user, eligible_assignment=eligible_assignment, **kwargs)

    return _activate


@pytest.fixture
def outbox():
    """Email rows queued so far: {recipient: [template, …]} plus helpers."""
    from notifications.models import OutboxMessage

    class Outbox:
        def rows(self, template=None):
            qs = OutboxMessage.objects.filter(channel="email").order_by("pk")
            return [m for m in qs if template is None or m.payload.get("template") == template]

        def recipients(self, template):
            return sorted(m.payload["to"] for m in self.rows(template))

    return Outbox()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, *, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it returns a truthy value; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


class SMTPSink:
    """aiosmtpd handler that keeps every message received."""

    def __init__(self):
        self.messages = []
        self.peers = []  # the client address of each message's session: one per SMTP connection

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's hook name
        from email import message_from_bytes

        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        self.peers.append(session.peer)
        return "250 OK"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on 127.0.0.1 and a free port."""
    from aiosmtpd.controller import Controller

    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


class RedisServer:
    def __init__(self, port: int):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ping, timeout=10, what=f"redis-server on port {self.port}")

    def ping(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def redis_server(redis_url):
    """Our own redis-server on a free port (CI's Redis stays untouched), stopped at the end."""
    from shutil import which

    if which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def broker():
    """Point this process's Celery app (the producer that kicks the relay) at another broker."""
    from pim_portal.celery import app

    original = (app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url)
    options = app.conf.broker_transport_options

    def _reset():
        app._pool = None
        app.__dict__.get("amqp") and setattr(app.amqp, "_producer_pool", None)

    def _use(url: str):
        app.conf.broker_url = app.conf.broker_write_url = app.conf.broker_read_url = url
        # A broker of the test's own, read by the worker it starts: no per-xdist-worker key prefix.
        app.conf.broker_transport_options = {k: v for k, v in (options or {}).items() if k != "global_keyprefix"}
        _reset()

    yield _use
    app.conf.broker_url, app.conf.broker_write_url, app.conf.broker_read_url = original
    app.conf.broker_transport_options = options
    _reset()


@pytest.fixture
def celery_worker_process():
    """Start `celery -A pim_portal worker` as a subprocess against the *test* database."""
    from django.conf import settings

    processes, logs = [], []

    def _start(*, broker_url: str, log_path: Path, smtp_port: int | None = None, pool: str = "solo",
               concurrency: int = 1, env_extra: dict | None = None):
        """Without `smtp_port` the worker writes emails to files (under PIM_VAR_DIR)."""
        db = settings.DATABASES["default"]
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST'] or '127.0.0.1'}:"
                            f"{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": broker_url,
            "PIM_VAR_DIR": os.environ.get("PIM_VAR_DIR", str(ROOT / "var")),
            **(env_extra or {}),
        }
        if smtp_port is not None:
            env.update({"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(smtp_port), "EMAIL_TIMEOUT": "5"})
        env.pop("PIM_TEST_DB_NAME", None)
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "pim_portal", "worker", "--pool", pool,
             "--concurrency", str(concurrency),
             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO",
             "-n", f"jobs-test-{os.getpid()}-{len(processes)}@%h"],
            cwd=ROOT, env=env, stdout=log_path.open("w"), stderr=subprocess.STDOUT)
        processes.append(process)
        logs.append(log_path)
        wait_until(lambda: "ready." in log_path.read_text() or process.poll() is not None, timeout=60,
                   what="the Celery worker to be ready")
        if process.poll() is not None:
            pytest.fail(f"The Celery worker exited: {log_path.read_text()[-3000:]}")
        return process

    yield _start
    for log_path in logs:  # shown by pytest when the test failed
        print(f"--- {log_path} ---\n{log_path.read_text()[-6000:]}")
    for process in processes:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@pytest.fixture
def person(directory):
    """A user with a real name ("Alice Andersen" → alice@example.com), as emails show it."""
    from assignments import services

    def _person(name: str):
        username = name.split()[0].lower()
        return services.user_create(username=username, email=f"{username}@example.com", display_name=name,
                                    password="pw-for-tests-123", actor=SETUP)

    return _person


@pytest.fixture
def delivered(settings):
    """Deliver what the outbox holds (locmem backend) and return the messages sent so far, each with
    `to`, `subject`, `body` and `html`."""
    from django.core import mail

    from notifications.outbox import outbox_relay_once

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    class Delivered:
        def __call__(self, to: str | None = None):
            while outbox_relay_once(limit=1000):
                pass
            messages = []
            for message in mail.outbox:
                html = next((content for content, mimetype in message.alternatives if mimetype == "text/html"), "")
                message.html = html
                if to is None or message.to == [to]:
                    messages.append(message)
            return messages

        def subjects(self, to: str) -> list[str]:
            return sorted(m.subject for m in self(to))

        def one(self, to: str, contains: str):
            found = [m for m in self(to) if contains in m.subject]
            assert len(found) == 1, f"{len(found)} messages to {to} with {contains!r}: {self.subjects(to)}"
            return found[0]

    return Delivered()
