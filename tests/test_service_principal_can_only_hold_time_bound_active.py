import pytest

from core.errors import DomainError


def test_service_principal_gets_time_bound_active_assignment(directory, later):
    sp = directory.service_principal()
    assignment = directory.grant(sp, "contributor", "/subscriptions/s1", end=later(days=7))
    assert assignment.kind == "active" and assignment.end_at is not None


def test_service_principal_cannot_be_eligible(directory, later):
    sp = directory.service_principal()
    with pytest.raises(DomainError, match="cannot be eligible"):
        directory.grant(sp, "contributor", "/subscriptions/s1", kind="eligible", end=later(days=7))


def test_service_principal_cannot_hold_permanent_active(directory):
    sp = directory.service_principal()
    with pytest.raises(DomainError, match="time-bound"):
        directory.grant(sp, "contributor", "/subscriptions/s1")
