"""API personas, each with a token: requester, approver, administrator, auditor, service principal.

The directory they live in: the requester is eligible for Helpdesk Administrator (ticket, no approval,
no MFA) and for User Administrator (approval by the approver, no MFA); the administrator is an active
Privileged Role Administrator; the auditor an active Global Reader; the service principal holds User
Access Administrator (time-bound active) at /subscriptions/s1 only.

Every token was created right after a fresh MFA step-up (as the tokens page asks); the administrator's is
an administrative token (it may make privileged administrative changes for its short lifetime), the
others' are general tokens. `general_token_for(user)` gives a general one to anyone.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from core.actors import Actor
from tests.conftest import record_on_the_directory, replayed_or_built

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@dataclass
class Persona:
    name: str
    user: object  # User, or None for the service principal / anonymous
    principal: object
    token: str | None

    def client(self) -> APIClient:
        client = APIClient()
        if self.token:
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.token}")
        return client


@pytest.fixture(autouse=True)
def _fresh_throttle_counters_and_check_authority():
    from api import views

    cache.clear()
    views._check_authority.clear()
    yield
    cache.clear()
    views._check_authority.clear()


def _world_build(directory) -> dict:
    """Make the personas; returns what identifies them: pks and token secrets."""
    from api import services as api_services
    from assignments import services

    root = directory.root
    s1 = directory.scope("/subscriptions/s1")
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.scope("/subscriptions/s2")
    approver = directory.user("approver")
    requester = directory.user("requester")
    admin = directory.user("admin")
    auditor = directory.user("auditor")
    directory.grant(admin, "privileged-role-administrator")
    directory.grant(auditor, "global-reader")
    directory.grant(requester, "helpdesk-administrator", kind="eligible")
    directory.grant(requester, "user-administrator", kind="eligible")
    services.role_setting_update(
        actor=SETUP, role=directory.role("user-administrator"), scope=root,
        values={"require_mfa_on_activation": False, "require_approval": True, "approvals_required": 1},
        approver_ids=[approver.principal.pk],
    )
    sp = directory.service_principal("deploy-bot")
    directory.grant(sp, "user-access-administrator", s1, end=timezone.now() + timedelta(days=30))

    def token_for(user, purpose="general"):
        return api_services.token_create_personal(actor=user, name=f"{user.username}-token", purpose=purpose,
                                                  mfa_verified_at=timezone.now())[1]

    _, sp_token = api_services.token_create_for_service_principal(actor=admin, service_principal=sp, name="deploy",
                                                                  mfa_verified_at=timezone.now())
    people = {"requester": requester, "approver": approver, "administrator": admin, "auditor": auditor}
    purposes = {"administrator": "administration"}
    return {
        "people": {name: (user.pk, token_for(user, purposes.get(name, "general"))) for name, user in people.items()},
        "service_principal": (sp.pk, sp_token),
    }


@pytest.fixture(scope="session")
def recorded_world(bootstrapped, django_db_blocker):
    return record_on_the_directory(bootstrapped, django_db_blocker, _world_build)


@pytest.fixture
def world(directory, recorded_world):
    from assignments.models import Principal, User

    built = replayed_or_built(directory, recorded_world, _world_build)
    personas = {}
    for name, (user_pk, token) in built["people"].items():
        user = User.objects.select_related("principal").get(pk=user_pk)
        personas[name] = Persona(name, user, user.principal, token)
    sp_pk, sp_token = built["service_principal"]
    personas["service_principal"] = Persona("service_principal", None, Principal.objects.get(pk=sp_pk), sp_token)
    personas["anonymous"] = Persona("anonymous", None, None, None)
    return personas


@pytest.fixture
def token_from_page(verified_client):
    """`token_from_page(user, purpose="general")`: the secret of a token `user` creates on the tokens page,
    right after a fresh MFA step-up (as a person would: sign in, verify, create, copy)."""
    import re

    def _create(user, purpose="general", name="laptop"):
        page = verified_client(user).post("/api/v1/tokens/", {"for": "personal", "name": name, "days": "30",
                                                              "purpose": purpose})
        assert page.status_code == 200, page
        return re.search(r"pim_[0-9a-f]{12}_[A-Za-z0-9_-]{20,}", page.content.decode()).group(0)

    return _create


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def general_token_for():
    """A general (non-administrative) personal token of `user`, created after a fresh MFA step-up."""
    from api import services as api_services

    def _token(user, name="general"):
        return api_services.token_create_personal(actor=user, name=name, mfa_verified_at=timezone.now())[1]

    return _token


@pytest.fixture
def requester_p(world):
    return world["requester"]


@pytest.fixture
def approver_p(world):
    return world["approver"]


@pytest.fixture
def admin_p(world):
    return world["administrator"]


@pytest.fixture
def auditor_p(world):
    return world["auditor"]


@pytest.fixture
def sp_p(world):
    return world["service_principal"]


@pytest.fixture
def anonymous_p(world):
    return world["anonymous"]


def eligible_of(persona, role_slug):
    from assignments.models import Assignment

    return Assignment.objects.get(principal=persona.principal, role__slug=role_slug, kind="eligible",
                                  status="live")
