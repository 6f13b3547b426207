"""The separation-of-duties guards cost no query while no conflict set exists (the cached answer), and
the first set, made by the service or written directly, is enforced at once."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import DomainError
from governance.separation import CACHE_KEY, any_conflict_sets, guard_activation
from governance.services import conflict_set_save


def _guard(directory, user, scope):
    guard_activation(principal=user.principal, role=directory.roles["payments-approver"], scope=scope,
                     start_at=timezone.now(), end_at=timezone.now() + timezone.timedelta(hours=1), actor=user)


def test_no_sets_no_queries_then_the_first_set_is_enforced_at_once(directory, payment_roles, global_admin):
    user = directory.user()
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="active")
    scope = directory.scope("/subscriptions/pay")
    # An earlier test's rolled-back set may have left "yes" cached for up to 30 s (safe: it costs the
    # query); start from the answer for this database.
    cache.delete(CACHE_KEY)
    assert any_conflict_sets() is False  # the answer is now cached
    with CaptureQueriesContext(connection) as queries:
        _guard(directory, user, scope)
    assert queries.captured_queries == []
    conflict_set_save(actor=global_admin, name="Payments", mode="refuse",
                      role_ids=[r.pk for r in payment_roles.values()], mfa_verified_at=timezone.now())
    with pytest.raises(DomainError, match="Separation of duties"):
        _guard(directory, user, scope)


def test_a_set_written_directly_is_enforced_at_once(directory, conflict_set):
    user = directory.user()
    directory.grant(user, "payments-submitter", "/subscriptions/pay", kind="active")
    scope = directory.scope("/subscriptions/pay")
    made = conflict_set("refuse")
    made.enabled = False
    made.save()
    assert not any_conflict_sets()
    _guard(directory, user, scope)
    made.enabled = True
    made.save()
    with pytest.raises(DomainError, match="Separation of duties"):
        _guard(directory, user, scope)
