"""A real OpenLDAP server per test (tests/slapd.py) and an OpenLDAP-preset source
pointed at it."""

import pytest
from django.utils import timezone

from core.crypto import seal
from directory.ldap_client import PRESETS
from directory.models import DirectorySource
from tests.slapd import GROUPS, PEOPLE, ROOT_DN, ROOT_PASSWORD, ldif_for, start_slapd, stop_slapd

USERS = [
    {"uid": "ada", "cn": "Ada Lovelace", "mail": "ada@example.org"},
    {"uid": "grace", "cn": "Grace Hopper", "mail": "grace@example.org"},
    {"uid": "alan", "cn": "Alan Turing", "mail": "alan@example.org"},
    {"uid": "edsger", "cn": "Edsger Dijkstra", "mail": "edsger@example.org"},
]
GROUP_LIST = [
    {"cn": "db-admins", "members": ["ada", "grace"]},
    {"cn": "auditors", "members": ["alan"]},
]


@pytest.fixture
def slapd():
    server = start_slapd(ldif_for(users=USERS, groups=GROUP_LIST))
    yield server
    stop_slapd(server)


def make_source(url: str, **values) -> DirectorySource:
    now = timezone.now()
    fields = {**PRESETS[DirectorySource.Preset.OPENLDAP], "name": "Example OpenLDAP",
              "preset": DirectorySource.Preset.OPENLDAP, "url": url, "bind_dn": ROOT_DN,
              "bind_password_sealed": seal(ROOT_PASSWORD), "base_dns": f"{PEOPLE}\n{GROUPS}", "page_size": 500,
              "timeout_seconds": 5, "created_at": now, "updated_at": now, **values}
    return DirectorySource.objects.create(**fields)


@pytest.fixture
def source(directory, slapd):
    return make_source(slapd.url)


@pytest.fixture
def eager_tasks():
    """Celery tasks queued on commit run in the test process (as a worker would run them)."""
    from pim_portal.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
