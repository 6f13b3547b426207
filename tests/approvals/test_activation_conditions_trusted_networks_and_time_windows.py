from datetime import UTC, datetime

import pytest
import time_machine

from core.errors import DomainError


def test_only_from_a_trusted_network(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", trusted_networks="10.0.0.0/8\n192.168.1.0/24")
    eligibility = eligible(requester)
    for ip in ("8.8.8.8", None):
        with pytest.raises(DomainError) as error:
            activate(requester, eligibility, client_ip=ip)
        assert error.value.code == "forbidden"
    assert activate(requester, eligibility, client_ip="10.1.2.3").assignment is not None


def test_only_within_the_allowed_time_window(directory, requester, policy, eligible, activate):
    policy("helpdesk-administrator", allowed_time_windows="Mon-Fri 08:00-18:00")
    eligibility = eligible(requester)
    with time_machine.travel(datetime(2030, 1, 5, 12, 0, tzinfo=UTC)):  # a Saturday
        with pytest.raises(DomainError) as error:
            activate(requester, eligibility)
        assert "time windows" in error.value.message
    with time_machine.travel(datetime(2030, 1, 7, 12, 0, tzinfo=UTC)):  # a Monday
        assert activate(requester, eligibility).assignment is not None
