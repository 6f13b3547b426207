"""A missing actor is never read as "the trusted system": `as_actor(None)` is refused, and so is a
service call without one. A `User` is read as a person; only `Actor.system(job)` is the system."""

import pytest

from assignments import services
from core.actors import Actor, ActorKind, as_actor


def test_as_actor_refuses_none():
    with pytest.raises(TypeError, match="Actor.system"):
        as_actor(None)


def test_a_service_called_with_actor_none_is_refused(directory, requester):
    with pytest.raises(TypeError):
        services.assignment_create(actor=None, principal=requester.principal,
                                   role=directory.role("exchange-administrator"), scope=directory.root,
                                   kind="eligible", justification="no actor")
    assert not requester.principal.assignments.exists()


def test_a_user_is_a_person_and_the_system_names_its_job(directory, requester):
    person = as_actor(requester)
    assert person.kind == ActorKind.PERSON and person.user == requester
    assert person.principal == requester.principal and person.mfa_verified_at is None
    assert person.label == str(requester) and person.audit_actor_id == requester.pk
    job = Actor.system("expiry-sweep")
    assert job.is_system and job.principal is None and job.label == "system:expiry-sweep"
    with pytest.raises(ValueError):
        Actor.system("")


def test_a_service_principal_never_carries_an_mfa_verification(directory):
    from django.utils import timezone

    sp = Actor.service_principal(directory.service_principal("bot"))
    assert sp.with_mfa_verified_at(timezone.now()).mfa_verified_at is None
    assert sp.label == "bot (service principal)" and sp.audit_actor_id is None
