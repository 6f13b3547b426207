"""The `directory` fixture writes the bootstrap recorded once for the session (tests/recorded_rows.py)
instead of running it for every test: what a test gets must be exactly what the bootstrap leaves,
getting it must stay a handful of statements, not the bootstrap again, and the rows are not written
on top of a database they were not recorded on."""

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from assignments.bootstrap import bootstrap_all
from assignments.models import Assignment, Principal, RoleDefinition, RoleSetting, Scope, ScopeClosure, User
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent


def _counts():
    return [model.objects.count() for model in (Scope, ScopeClosure, RoleDefinition, RoleSetting, User, Principal,
                                                Assignment, AuditEvent)]


def test_the_directory_is_a_complete_bootstrap_with_an_intact_audit_chain(directory):
    counts = _counts()
    assert counts[2] == len(directory.roles) > 0
    verified = audit_chain_verify()
    assert verified.ok, verified.summary()

    again = bootstrap_all()

    assert again.created_roles == [] and again.emergency_passwords == {}
    assert _counts() == counts
    assert User.objects.filter(is_emergency_access=True).count() == 2


def test_a_test_in_a_transaction_gets_the_rows_in_a_few_statements_and_only_on_the_recorded_state(db, bootstrapped):
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        assert bootstrapped.replay()
        assert RoleDefinition.objects.exists()
        transaction.set_rollback(True)
    statements = len(bootstrapped.tables) * 2 + 4  # the state check, then at most one INSERT and UPDATE per table
    assert len(queries.captured_queries) <= statements
    assert not RoleDefinition.objects.exists()

    with transaction.atomic():
        assert bootstrapped.replay()
        assert not bootstrapped.replay()  # already there: writing them again would duplicate them
        transaction.set_rollback(True)
