"""A refused attempt keeps its "denied" event even when the transaction it was made in rolls back
afterwards: the refusal is audited in its own transaction."""

import pytest
from django.db import transaction

from assignments import services
from assignments.models import Assignment
from audit.integrity import audit_chain_verify
from audit.models import AuditEvent
from core.errors import DomainError
from tests.conftest import SETUP


class CallerFailed(Exception):
    pass


@pytest.mark.django_db(transaction=True)
def test_a_refusal_is_audited_even_when_the_callers_transaction_rolls_back(directory):
    nobody, target = directory.user(), directory.user()

    with pytest.raises(CallerFailed):
        with transaction.atomic():
            services.scope_create(path="/managementGroups/rolled-back", kind="management_group",
                                  display_name="rolled back", parent=directory.root, actor=SETUP)
            with pytest.raises(DomainError):
                services.assignment_create(actor=nobody, principal=target.principal,
                                           role=directory.role("global-administrator"), scope=directory.root,
                                           kind="active")
            raise CallerFailed("the caller fails after the refusal")

    denied = AuditEvent.objects.get(action="assignment.create", outcome="denied")
    assert denied.actor_id == nobody.pk and denied.principal_id == target.principal.pk
    # The caller's own change and its event went with the rollback.
    assert not AuditEvent.objects.filter(action="scope.create", scope_path="/managementGroups/rolled-back").exists()
    assert not Assignment.objects.filter(principal=target.principal).exists()
    result = audit_chain_verify()
    assert result.ok, result.summary()
