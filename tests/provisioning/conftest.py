"""Real peers on loopback: a scim2-server (the PyPI package) behind a SCIM connector target, and a tiny
webhook receiver, each served from a thread of the test process; the outbox relay runs in-process."""

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from werkzeug.serving import make_server

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

PEER_TOKEN = "peer-bearer-token-for-tests"


@pytest.fixture(autouse=True)
def _allow_loopback_targets(settings):
    settings.PIM_PROVISIONING_ALLOW_LOOPBACK = True


@functools.cache
def _scim_provider():
    """What scim2-server serves by default, plus bearer tokens: built once (a provider is immutable)."""
    from scim2_models import ScimProvider
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    return ScimProvider.from_discovery(load_default_schemas().values(), load_default_resource_types().values(),
                                       config=config)


class ScimPeer:
    """scim2-server's WSGI application over an in-memory storage, requiring a bearer token."""

    def __init__(self, token=PEER_TOKEN):
        from scim2_server.memory import InMemoryStorage
        from scim2_server.service import ScimService
        from scim2_server.testserver.application import BearerTokenApplication

        provider = _scim_provider()
        self.storage = InMemoryStorage()
        self.token = token
        self.app = BearerTokenApplication(self.storage, provider, service=ScimService(provider, secret="s" * 32),
                                          bearer_tokens=[token])
        self.port = 0
        self.server = None
        self.requests = 0
        self.fail_with = None  # e.g. "503 Service Unavailable": a proxy in front answering HTML
        self.start()

    def _counting(self, environ, start_response):
        self.requests += 1
        if self.fail_with:
            start_response(self.fail_with, [("Content-Type", "text/html")])
            return [b"<html><body>Upstream unavailable</body></html>"]
        return self.app(environ, start_response)

    def start(self):
        self.server = make_server("127.0.0.1", self.port, self._counting, threaded=True)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.thread.join(timeout=5)
            self.server = None

    @property
    def base_url(self):
        return f"http://127.0.0.1:{self.port}/v2"

    def resources(self, resource_type):
        return [r for r in self.storage.resources if r.meta.resource_type == resource_type]

    def user(self, user_name):
        return next((u for u in self.resources("User") if u.user_name == user_name), None)

    def group(self, external_id):
        return next((g for g in self.resources("Group") if g.external_id == str(external_id)), None)

    def member_names(self, external_id):
        group = self.group(external_id)
        if group is None:
            return set()
        ids = {m.value for m in group.members or []}
        return {u.user_name for u in self.resources("User") if u.id in ids}

    def snapshot(self):
        return sorted(json.dumps(r.model_dump(), sort_keys=True, default=str) for r in self.storage.resources)


@pytest.fixture
def scim_peer():
    peer = ScimPeer()
    yield peer
    peer.stop()


class Receiver:
    """Records each POST; answers with the next status of `statuses` (the last one repeats)."""

    def __init__(self):
        self.received = []
        self.statuses = [200]
        self.delay = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
                                          "path": self.path})
                time.sleep(receiver.delay)  # a slow receiver (timeout tests), not a wait for time to pass
                status = receiver.statuses.pop(0) if len(receiver.statuses) > 1 else receiver.statuses[0]
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/pim"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


@pytest.fixture
def relay():
    """Run the outbox relay once, in-process; returns how many rows it delivered."""
    from notifications.outbox import outbox_relay_once

    return outbox_relay_once


@pytest.fixture
def group_with_member_policy(directory):
    """A group whose Member role needs neither MFA nor approval, so activation is one call."""
    from assignments import services

    group = directory.group("Payroll admins")
    services.role_setting_update(actor=SETUP, role=directory.role("group-member"), scope=group.group_scope,
                                 values={"require_mfa_on_activation": False, "require_approval": False,
                                         "require_justification_on_activation": False}, approver_ids=None)
    return group


@pytest.fixture
def activate():
    from approvals import services

    def _activate(user, eligible_assignment, **kwargs):
        kwargs.setdefault("duration_minutes", 60)
        kwargs.setdefault("justification", "payroll run")
        kwargs.setdefault("mfa_verified_at", timezone.now())
        return services.request_self_activate(actor=user, eligible_assignment=eligible_assignment, **kwargs)

    return _activate


@pytest.fixture
def scim_app(directory, group_with_member_policy, scim_peer, global_admin):
    """A SCIM 2.0 group connector: the target (the peer, its bearer token) and the mapping "Member of
    Payroll admins" → the group of that name in the peer (looked up by the PIM group's id as externalId)."""
    from types import SimpleNamespace

    from connectors.services import mapping_create, target_create

    now = timezone.now()
    group = group_with_member_policy
    target = target_create(actor=global_admin, name="Payroll SaaS", kind="scim",
                           config={"base_url": scim_peer.base_url}, secret=scim_peer.token, mfa_verified_at=now)
    mapping = mapping_create(actor=global_admin, target=target, role=directory.role("group-member"),
                             scope=group.group_scope, grant=group.display_name,
                             options={"external_id": str(group.object_id)}, mfa_verified_at=now)
    return SimpleNamespace(group=group, target=target, mapping=mapping, name=target.name)


def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@pytest.fixture
def make_webhook(global_admin, receiver):
    """A webhook connector target posting to `receiver`: returns (target, its generated signing secret)."""
    from connectors.services import webhook_target_create

    def _make(*event_types, name="SIEM", url=None):
        return webhook_target_create(actor=global_admin, name=name,
                                     config={"url": url or receiver.url, "event_types": list(event_types)},
                                     mfa_verified_at=timezone.now())

    return _make


def deliveries(**filters):
    """The event deliveries (connector effects of action "event"), oldest first."""
    from connectors.models import Effect

    return list(Effect.objects.filter(action="event", **filters).select_related("outbox_message", "target")
                .order_by("queued_at", "pk"))
