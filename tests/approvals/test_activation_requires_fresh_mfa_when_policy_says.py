from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from core.errors import DomainError


def test_no_verification_is_refused(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", require_mfa_on_activation=True)
    with pytest.raises(DomainError) as error:
        activate(requester, eligible(requester), mfa_verified_at=None)
    assert error.value.code == "forbidden" and error.value.field == "mfa"


def test_a_verification_older_than_the_freshness_window_is_refused(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", require_mfa_on_activation=True)
    eligibility = eligible(requester)
    verified = timezone.now()
    with time_machine.travel(verified + timedelta(minutes=10, seconds=1)):
        with pytest.raises(DomainError) as error:
            activate(requester, eligibility, mfa_verified_at=verified)
        assert "10 minutes" in error.value.message
    with time_machine.travel(verified + timedelta(minutes=9)):
        assert activate(requester, eligibility, mfa_verified_at=verified).assignment is not None
