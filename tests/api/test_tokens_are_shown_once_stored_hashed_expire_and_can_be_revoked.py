import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api import services
from api.models import ApiToken
from audit.models import AuditEvent
from core.actors import Actor
from core.errors import DomainError

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _ping(token):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/ping")


def test_personal_token_is_stored_as_a_hash_and_works_once_shown(directory):
    user = directory.user("alice")
    token, secret = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="laptop")
    assert secret.startswith(f"pim_{token.prefix}_")
    stored = ApiToken.objects.get(pk=token.pk)
    raw_secret = secret.split("_", 2)[2]
    assert stored.secret_hash == hashlib.sha256(raw_secret.encode()).hexdigest()
    assert raw_secret not in {stored.secret_hash, stored.prefix, stored.name}
    assert len(raw_secret) >= 40  # 256 bits, urlsafe
    response = _ping(secret)
    assert response.status_code == 200
    assert response.json()["principal"] == user.principal.pk
    assert AuditEvent.objects.filter(action="api.token_create", target_id=str(token.pk)).exists()


def test_wrong_secret_with_a_known_prefix_is_refused(directory):
    user = directory.user("alice")
    token, secret = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="laptop")
    forged = f"pim_{token.prefix}_{'x' * 43}"
    response = _ping(forged)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_expires(directory):
    user = directory.user("alice")
    token, secret = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="short",
                                                   expires_at=timezone.now() + timedelta(days=1))
    assert _ping(secret).status_code == 200
    with time_machine.travel(token.expires_at + timedelta(microseconds=1)):
        assert _ping(secret).status_code == 401


def test_token_lifetime_is_bounded(directory, settings):
    user = directory.user("alice")
    with pytest.raises(DomainError) as error:
        services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="forever",
                                       expires_at=timezone.now() + timedelta(days=settings.PIM_API_TOKEN_MAX_DAYS + 1))
    assert error.value.field == "expires_at"
    with pytest.raises(DomainError):
        services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="past",
                                       expires_at=timezone.now() - timedelta(minutes=1))
    token, _ = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="default")
    assert token.expires_at - token.created_at == timedelta(days=settings.PIM_API_TOKEN_DEFAULT_DAYS)


def test_revoked_token_stops_working_at_once_and_revocation_is_audited(directory):
    user = directory.user("alice")
    token, secret = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="laptop")
    assert _ping(secret).status_code == 200
    services.token_revoke(actor=user, token=token)
    services.token_revoke(actor=user, token=token)  # twice: a no-op
    assert _ping(secret).status_code == 401
    assert AuditEvent.objects.filter(action="api.token_revoke", target_id=str(token.pk)).count() == 1


def test_someone_else_cannot_revoke_a_personal_token(directory):
    alice, mallory = directory.user("alice"), directory.user("mallory")
    token, secret = services.token_create_personal(actor=alice, mfa_verified_at=timezone.now(), name="laptop")
    with pytest.raises(DomainError) as error:
        services.token_revoke(actor=mallory, token=token)
    assert error.value.code == "not_found"
    assert _ping(secret).status_code == 200


def test_disabled_user_token_stops_working(directory):
    from assignments import services as assignment_services

    user = directory.user("alice")
    _, secret = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="laptop")
    assignment_services.user_set_enabled(user=user, enabled=False, actor=SETUP)
    assert _ping(secret).status_code == 401


def test_last_use_is_recorded_at_most_once_a_minute(directory):
    user = directory.user("alice")
    token, secret = services.token_create_personal(actor=user, mfa_verified_at=timezone.now(), name="laptop")
    assert ApiToken.objects.get(pk=token.pk).last_used_at is None
    with time_machine.travel(timezone.now() + timedelta(minutes=1), tick=False) as traveller:
        _ping(secret)
        first = ApiToken.objects.get(pk=token.pk).last_used_at
        assert first is not None
        traveller.shift(timedelta(seconds=30))
        _ping(secret)
        assert ApiToken.objects.get(pk=token.pk).last_used_at == first
        traveller.shift(timedelta(seconds=31))
        _ping(secret)
        assert ApiToken.objects.get(pk=token.pk).last_used_at > first


def test_malformed_authorization_headers_are_401_not_500(directory):
    from rest_framework.test import APIClient

    client = APIClient()
    headers = ["Bearer", "Bearer a b", "Bearer pim__", "Bearer pim_x", "Bearer \u00e9t\u00e9", "Bearer pim_zz_\x00"]
    for header in headers:
        client.credentials(HTTP_AUTHORIZATION=header)
        response = client.get("/api/v1/ping")
        assert response.status_code == 401, header
        assert response.json()["error"]["code"] in {"authentication_failed", "not_authenticated"}
