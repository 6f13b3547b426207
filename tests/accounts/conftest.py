import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth keeps rate-limit counters in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()

