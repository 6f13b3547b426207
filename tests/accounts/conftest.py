import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """allauth keeps rate-limit counters in the cache; each test starts from zero."""
    cache.clear()
    yield
    cache.clear()



@pytest.fixture
def delivered(settings):
    """Deliver what the outbox holds (locmem backend); returns the messages sent so far to `to`."""
    from django.core import mail

    from notifications.outbox import outbox_relay_once

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def _delivered(to: str) -> list:
        while outbox_relay_once(limit=1000):
            pass
        return [m for m in mail.outbox if m.to == [to]]

    return _delivered
