"""Fixtures for the request rules: a policy, an eligible requester, request rules and a local HTTP server
playing a ticket system or a roster host."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from core.actors import Actor
from tests.approvals.conftest import activate, approver, eligible, policy  # noqa: F401  (the pipeline's own fixtures)

SETUP = Actor.system("test-setup")


@pytest.fixture
def rules(directory):
    """rules(setting, **values): set the request rules of a role setting (as the system)."""
    from selfservice import services

    def _rules(setting, **values):
        return services.request_rules_update(actor=SETUP, setting=setting, values=values)

    return _rules


@pytest.fixture
def auto_rule():
    from selfservice import services

    def _rule(setting, **values):
        values.setdefault("name", "test rule")
        return services.auto_approval_rule_create(actor=SETUP, setting=setting, **values)

    return _rule


@pytest.fixture
def break_glass():
    from selfservice import breakglass

    def _break_glass(user, eligible_assignment, **kwargs):
        kwargs.setdefault("duration_minutes", 60)
        kwargs.setdefault("reason", "Production database down, approvers unreachable (INC-7)")
        kwargs.setdefault("mfa_verified_at", timezone.now())
        return breakglass.request_break_glass(actor=user, eligible_assignment=eligible_assignment, **kwargs)

    return _break_glass


class LocalServer:
    """A real HTTP server on 127.0.0.1: `routes` maps a path to (status, body); `hang` paths never answer
    until the test ends (a time-out without sleeping in the test). `seen` lists the paths asked."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        self.hang: set[str] = set()
        self.seen: list[str] = []
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                server.seen.append(self.path)
                if self.path in server.hang:
                    server.release.wait(30)
                    return
                status, body = server.routes.get(self.path, (404, b"not found"))
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def local_server(settings):
    """The local server, with loopback allowed as a network the portal may call (tests only)."""
    settings.PIM_PROVISIONING_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    server = LocalServer()
    yield server
    server.close()
