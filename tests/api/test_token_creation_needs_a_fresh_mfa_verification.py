"""Creating an API token (personal, administrative, or a service principal's credential) needs a fresh
MFA verification: a token outlives the session it was made in. Without one the tokens page sends the
person through the step-up and back, with the name they typed; the service refuses a call without it."""

from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from django.utils import timezone

from api import services
from api.models import ApiToken
from core.errors import DomainError
from tests.conftest import mark_mfa_verified


def test_tokens_page_asks_for_a_step_up_then_creates_the_token(directory):
    user = directory.user("alice")
    client = Client()
    client.force_login(user)

    response = client.post("/api/v1/tokens/", {"for": "personal", "name": "ci", "days": "30",
                                               "purpose": "administration"})
    assert response.status_code == 302
    location = urlparse(response["Location"])
    assert location.path == "/account/verify/"
    assert parse_qs(location.query)["next"] == ["/api/v1/tokens/"]
    assert not ApiToken.objects.filter(user=user).exists()

    mark_mfa_verified(client)
    back = client.get("/api/v1/tokens/").content.decode()
    assert 'value="ci"' in back  # what was typed is still there
    assert '<option value="administration" selected>' in back

    created = client.post("/api/v1/tokens/", {"for": "personal", "name": "ci", "purpose": "administration"})
    assert created.status_code == 200
    assert ApiToken.objects.get(user=user).purpose == ApiToken.Purpose.ADMINISTRATION


def test_service_principal_credential_needs_the_creators_fresh_verification(directory, role_admin):
    sp = directory.service_principal("deploy-bot")
    with pytest.raises(DomainError) as refused:
        services.token_create_for_service_principal(actor=role_admin, service_principal=sp, name="deploy")
    assert refused.value.field == "admin_mfa"
    stale = timezone.now() - timedelta(minutes=11)
    with pytest.raises(DomainError):
        services.token_create_personal(actor=role_admin, name="old step-up", mfa_verified_at=stale)
    assert not ApiToken.objects.exists()

    services.token_create_for_service_principal(actor=role_admin, service_principal=sp, name="deploy",
                                                mfa_verified_at=timezone.now())
    assert ApiToken.objects.filter(principal=sp).count() == 1
