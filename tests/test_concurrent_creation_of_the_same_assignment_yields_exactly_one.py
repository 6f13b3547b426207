import threading

import pytest
from django.db import connection

from assignments import services
from assignments.models import Assignment
from audit.models import AuditEvent
from core.errors import DomainError


@pytest.mark.django_db(transaction=True)
def test_twenty_threads_creating_the_same_assignment_yield_one(postgres, directory, role_admin):
    target = directory.user()
    role = directory.role("exchange-administrator")
    barrier = threading.Barrier(20)
    outcomes = []

    def create():
        try:
            barrier.wait()
            services.assignment_create(
                actor=role_admin,
                principal=target.principal,
                role=role,
                scope=directory.root,
                kind="eligible",
                justification="race",
            )
            outcomes.append("created")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()  # each thread has its own connection: release it

    threads = [threading.Thread(target=create) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("created") == 1
    assert outcomes.count("conflict") == 19
    assert Assignment.objects.filter(principal=target.principal, role=role).count() == 1
    assert (
        AuditEvent.objects.filter(
            action="assignment.create", outcome="success", principal_id=target.principal.pk
        ).count()
        == 1
    )
    # The audit chain stayed one unbroken sequence under the race.
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
