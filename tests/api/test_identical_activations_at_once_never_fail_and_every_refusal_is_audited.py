"""Twenty identical self-activations fired at the same moment through the API, in several rounds: one
is provisioned, the others are refused with 409, none answers 500 (no deadlock on the chain head),
every refusal keeps its "denied" events, and the audit chain verifies (PostgreSQL, real connections)."""

import threading

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from audit.integrity import audit_chain_verify
from audit.models import AuditEvent

CALLERS = 20
ROUNDS = 4


def _fire_at_once(token: str, eligible_pk: int) -> list[int]:
    barrier = threading.Barrier(CALLERS)
    statuses: list[int] = []

    def activate():
        client = APIClient()
        client.raise_request_exception = False  # a server error is an answer here, not a crash of the thread
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        try:
            barrier.wait(timeout=60)
            response = client.post("/api/v1/requests/", {
                "action": "self_activate", "assignment": eligible_pk, "duration_minutes": 60,
                "justification": "incident", "ticket_system": "jira", "ticket_number": "OPS-1"}, format="json")
            statuses.append(response.status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=activate) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses


@pytest.mark.django_db(transaction=True)
def test_identical_activations_at_once_never_fail_and_every_refusal_is_audited(postgres, directory):
    from api import services as api_services

    for round_number in range(ROUNDS):
        user = directory.user(f"burst{round_number}")
        eligible = directory.grant(user, "helpdesk-administrator", kind="eligible")
        _, token = api_services.token_create_personal(actor=user, name="burst", mfa_verified_at=timezone.now())

        statuses = _fire_at_once(token, eligible.pk)

        assert len(statuses) == CALLERS
        assert 500 not in statuses, statuses
        assert statuses.count(201) == 1, statuses
        assert statuses.count(409) == CALLERS - 1, statuses
        mine = AuditEvent.objects.filter(actor_id=user.pk)
        assert mine.filter(action="request.self_activate", outcome="success").count() == 1
        assert mine.filter(action="request.self_activate", outcome="denied").count() == CALLERS - 1
        assert mine.filter(action="api.write", outcome="success").count() == 1
        assert mine.filter(action="api.write", outcome="denied").count() == CALLERS - 1

    result = audit_chain_verify()
    assert result.ok, result.summary()
    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
