"""Shared fixtures: a bootstrapped directory and people holding roles.

Tests that need a real PostgreSQL or Redis use the `postgres` / `redis_url` fixtures: on a
developer machine without them they skip with a reason; with PIM_REQUIRE_SERVICES=1 (CI) they fail.
"""

import fcntl
import os
import socket
import tempfile
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from core.actors import Actor
from tests.recorded_rows import RecordedRows

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test

REQUIRE_SERVICES = os.environ.get("PIM_REQUIRE_SERVICES") == "1"


def pytest_configure(config):
    from django.conf import settings

    # Password hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

    from tests import audit_triggers

    audit_triggers.install()

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and settings.CELERY_BROKER_URL.startswith("redis://"):
        # Commits kick the outbox relay through the broker; on a shared Redis (CI's), each pytest-xdist
        # worker's messages go under keys of its own. (Tests that run a worker start their own Redis.)
        from pim_portal.celery import app

        app.conf.broker_transport_options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                             "global_keyprefix": f"pim-tests-{worker}:"}


def _lock_files(run: str) -> tuple[Path, Path]:
    base = Path(tempfile.gettempdir()) / f"pim-tests-{run}"
    return base.with_suffix(".turnstile"), base.with_suffix(".lock")


@contextmanager
def _beside_other_workers(*, alone: bool):
    """Under pytest-xdist (`make test`), a test marked `serial` runs while no other worker runs one.
    A readers-writer lock over two files, the writer first: every test takes the run's lock shared,
    a serial one exclusively; a serial test waiting for it holds the turnstile, which the others pass
    on the way in, so they finish the test they are running and wait instead of starving it."""
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID")
    if not run:  # one process (`-n 0`, plain pytest): nothing runs beside it
        yield
        return
    turnstile_path, lock_path = _lock_files(run)
    with turnstile_path.open("a") as turnstile, lock_path.open("a") as lock:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        finally:
            if not alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    with _beside_other_workers(alone=item.get_closest_marker("serial") is not None):
        return (yield)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """pytest-xdist's controller: remember the run, to remove its lock files at the end."""
    node.config._pim_xdist_run = node.workerinput["testrunuid"]


def pytest_unconfigure(config):
    run = getattr(config, "_pim_xdist_run", None)
    if run:
        for path in _lock_files(run):
            path.unlink(missing_ok=True)


def _missing(reason: str):
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (PIM_REQUIRE_SERVICES=1: required in CI)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def _sqlite_test_database_in_memory():
    """Django tests SQLite in memory (a shared-cache database of this process: each pytest-xdist
    worker has its own). Say so in the settings: pytest-django recognises it only on Django's own
    engine name, not on ours (audit.backends.sqlite3), and would otherwise give each worker a file
    named after the development database's path."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"].endswith(".sqlite3") and not db.get("TEST", {}).get("NAME"):
            db.setdefault("TEST", {})["NAME"] = ":memory:"


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix(_sqlite_test_database_in_memory,
                                              django_db_modify_db_settings_xdist_suffix):
    """pytest-django's: a suffix (_gw0, _gw1, …) on each worker's test database names."""


@pytest.fixture
def postgres():
    """Use in tests whose behaviour depends on PostgreSQL (row locks, concurrency, triggers)."""
    if connection.vendor != "postgresql":
        _missing("needs PostgreSQL: set DATABASE_URL=postgres://…")
    return connection


@pytest.fixture
def redis_url():
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        _missing("needs Redis: set CELERY_BROKER_URL=redis://…")
    host_port = url.split("://", 1)[1].split("/", 1)[0].split("@")[-1]
    host, _, port = host_port.partition(":")
    try:
        socket.create_connection((host or "127.0.0.1", int(port or 6379)), timeout=2).close()
    except OSError as error:
        pytest.fail(f"Redis at {url} is unreachable: {error}")
    return url


class Directory:
    """The bootstrapped directory: root scope, built-in roles, and helpers to make principals."""

    def __init__(self, bootstrapped: RecordedRows | None = None):
        """With the session's recorded bootstrap (the `directory` fixture), its rows are written when
        they can be; otherwise, and without it, the bootstrap runs."""
        from assignments.bootstrap import bootstrap_all
        from assignments.models import RoleDefinition, Scope

        if bootstrapped is None or not bootstrapped.replay():
            bootstrap_all()
        self.root = Scope.objects.get(path="/")
        self.roles = {role.slug: role for role in RoleDefinition.objects.all()}
        self._count = 0

    def role(self, slug):
        return self.roles[slug]

    def user(self, username=None, *, password="pw-for-tests-123", email=None, **grants):
        from assignments import services

        self._count += 1
        username = username or f"user{self._count}"
        email = email or (username if "@" in username else f"{username}@example.com")  # a UPN is its own address
        return services.user_create(username=username, password=password, email=email,
                                    display_name=username.title(), actor=SETUP)

    def group(self, name=None, *, role_assignable=False):
        from assignments import services

        self._count += 1
        return services.group_create(display_name=name or f"Group {self._count}", role_assignable=role_assignable,
                                     actor=SETUP)

    def service_principal(self, name=None):
        from assignments import services

        self._count += 1
        return services.service_principal_create(display_name=name or f"app-{self._count}", actor=SETUP)

    def scope(self, path, kind=None, parent=None, name=None):
        """Create a scope (and its missing parents) from an Azure-style path."""
        from assignments import services
        from assignments.models import Scope

        existing = Scope.objects.filter(path=path).first()
        if existing:
            return existing
        if kind is None:
            parts = path.strip("/").split("/")
            if parts[0] == "subscriptions":
                kind = {2: Scope.Kind.SUBSCRIPTION, 4: Scope.Kind.RESOURCE_GROUP}.get(len(parts), Scope.Kind.RESOURCE)
            else:
                kind = Scope.Kind.MANAGEMENT_GROUP
        if parent is None:
            if kind == Scope.Kind.RESOURCE_GROUP:
                parent = self.scope(path.rsplit("/resourceGroups/", 1)[0])
            elif kind == Scope.Kind.RESOURCE:
                parent = self.scope(path.split("/providers/", 1)[0])
            else:
                parent = self.root
        return services.scope_create(path=path, kind=kind, display_name=name or path.rsplit("/", 1)[-1],
                                     parent=parent, actor=SETUP)

    def grant(self, principal, role_slug, scope=None, *, kind="active", start=None, end=None, justification="test"):
        """Give a role directly (system actor): the test's arrangement, not the behaviour under test."""
        from assignments import services
        from assignments.models import Principal

        if not isinstance(principal, Principal):
            principal = principal.principal
        scope = scope or self.root
        if isinstance(scope, str):
            scope = self.scope(scope)
        return services.assignment_create(actor=SETUP, principal=principal, role=self.roles[role_slug], scope=scope,
                                          kind=kind, start_at=start, end_at=end, justification=justification)

    def add_member(self, group, principal, *, kind="active", end=None):
        from assignments.models import Principal

        if not isinstance(principal, Principal):
            principal = principal.principal
        return self.grant(principal, "group-member", group.group_scope, kind=kind, end=end)


@pytest.fixture(scope="session")
def bootstrapped(django_db_setup, django_db_blocker):
    """The bootstrap, run once for the session and recorded (tests/recorded_rows.py)."""
    from assignments.bootstrap import bootstrap_all

    with django_db_blocker.unblock():
        return RecordedRows(bootstrap_all)


@pytest.fixture
def directory(bootstrapped, db):
    return Directory(bootstrapped)


def record_on_the_directory(bootstrapped: RecordedRows, django_db_blocker, build) -> RecordedRows:
    """Run `build(directory)` once, on a freshly bootstrapped directory, and record its rows. `build`
    returns plain data (pks, secrets), never model instances, which every test would share."""
    from django.db import transaction

    with django_db_blocker.unblock(), transaction.atomic():
        directory = Directory(bootstrapped)
        recorded = RecordedRows(lambda: (build(directory), directory._count))
        transaction.set_rollback(True)
    return recorded


def replayed_or_built(directory: Directory, recorded: RecordedRows, build):
    """What `build(directory)` returns: the recording's, when its rows could be written into this test
    (the directory then numbers the next unnamed principals as if it had run), or the real build's."""
    if recorded.replay():
        result, names_used = recorded.result
        directory._count += names_used
        return result
    return build(directory)


def _global_admin_build(directory) -> int:
    user = directory.user("gadmin")
    directory.grant(user, "global-administrator")
    return user.pk


def _role_admin_build(directory) -> int:
    user = directory.user("rolead")
    directory.grant(user, "privileged-role-administrator")
    return user.pk


@pytest.fixture(scope="session")
def recorded_global_admin(bootstrapped, django_db_blocker):
    return record_on_the_directory(bootstrapped, django_db_blocker, _global_admin_build)


@pytest.fixture(scope="session")
def recorded_role_admin(bootstrapped, django_db_blocker):
    return record_on_the_directory(bootstrapped, django_db_blocker, _role_admin_build)


@pytest.fixture
def global_admin(directory, recorded_global_admin):
    """An active Global Administrator (in addition to the two emergency accounts)."""
    from assignments.models import User

    return User.objects.get(pk=replayed_or_built(directory, recorded_global_admin, _global_admin_build))


@pytest.fixture
def role_admin(directory, recorded_role_admin):
    """An active Privileged Role Administrator."""
    from assignments.models import User

    return User.objects.get(pk=replayed_or_built(directory, recorded_role_admin, _role_admin_build))


@pytest.fixture
def requester(directory):
    return directory.user("requester")


def mark_mfa_verified(client, at=None):
    """What the step-up page does to a session: mark it freshly MFA-verified (now, or `at`)."""
    from core.mfa import SESSION_KEY

    session = client.session
    session[SESSION_KEY] = (at or timezone.now()).isoformat()
    session.save()
    return client


@pytest.fixture
def verified():
    """`verified(client)`: the signed-in test client's session has just passed the MFA step-up, as
    privileged administrative changes (and MFA-gated activations) ask for."""
    return mark_mfa_verified


@pytest.fixture
def verified_client():
    """`verified_client(user)`: a test client signed in as `user`, its session freshly MFA-verified."""
    from django.test import Client

    def _client(user):
        client = Client()
        client.force_login(user)
        return mark_mfa_verified(client)

    return _client


@pytest.fixture
def totp_code():
    """The current TOTP code of a device, computed like an authenticator app would (time_machine aware)."""
    from django_otp.oath import totp

    def _code(device):
        return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):0{device.digits}d}"

    return _code


@pytest.fixture
def enrolment_code():
    """An MFA enrolment code for `user`, got the way a person gets one: emailed to their mailbox (the
    outbox relay delivers it to Django's test mailbox) and read from the message."""
    import re

    from django.core import mail

    def _enrolment_code(user) -> str:
        from accounts import services
        from notifications.outbox import outbox_relay_once

        services.mfa_enrolment_code_email(user=user)
        outbox_relay_once(limit=1000)
        # The newest code in their mailbox: the relay sends it ahead of informational notices queued
        # before it (an assignment's), so it need not be the last message.
        codes = [found.group(0) for m in mail.outbox if m.to == [user.email]
                 if (found := re.search(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b", m.body))]
        return codes[-1]

    return _enrolment_code


@pytest.fixture
def later():
    def _later(**kwargs):
        return timezone.now() + timedelta(**kwargs)

    return _later
