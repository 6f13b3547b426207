"""A refused attempt to create a personal API token (no fresh MFA verification) is audited as denied,
like a refused credential for a service principal."""

import pytest

from api import services
from api.models import ApiToken
from audit.models import AuditEvent
from core.errors import DomainError


def test_a_token_refused_for_want_of_a_fresh_verification_leaves_a_denied_event(directory):
    user = directory.user("alice")
    with pytest.raises(DomainError):
        services.token_create_personal(actor=user, name="ci")
    assert not ApiToken.objects.filter(user=user).exists()
    denied = AuditEvent.objects.filter(action="api.token_create", outcome="denied", actor_id=user.pk)
    assert denied.count() == 1
    assert "Verify with your authenticator" in denied.get().message
