from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import DomainError


def test_five_minutes_is_enough(directory):
    start = timezone.now() + timedelta(minutes=1)
    user = directory.user()
    assert directory.grant(user, "reader", "/subscriptions/s1", start=start, end=start + timedelta(minutes=5))


def test_shorter_than_five_minutes_is_refused(directory):
    start = timezone.now() + timedelta(minutes=1)
    user = directory.user()
    with pytest.raises(DomainError, match="at least 5 minutes"):
        directory.grant(user, "reader", "/subscriptions/s1", start=start, end=start + timedelta(minutes=4, seconds=59))


def test_start_in_the_past_is_refused(directory):
    user = directory.user()
    with pytest.raises(DomainError, match="past"):
        directory.grant(user, "reader", "/subscriptions/s1", start=timezone.now() - timedelta(hours=1))
