"""Fixtures for governance: two payment roles, a conflict set over them, policies and activations."""

import pytest
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@pytest.fixture
def payment_roles(directory):
    """Two custom resource roles that nobody should combine."""
    from assignments import services

    roles = {slug: services.role_definition_create(slug=slug, name=name, kind="resource", actor=SETUP,
                                                   actions=[f"payments/{slug}/*"])
             for slug, name in (("payments-submitter", "Payments submitter"),
                                ("payments-approver", "Payments approver"))}
    directory.roles.update(roles)
    return roles


@pytest.fixture
def conflict_set(payment_roles):
    """conflict_set(mode="refuse"): a conflict set over the two payment roles."""
    from governance.models import ConflictSet

    def _make(mode="refuse", name="Payments"):
        made = ConflictSet.objects.create(name=name, mode=mode, created_at=timezone.now(), updated_at=timezone.now())
        made.roles.set(payment_roles.values())
        return made

    return _make


@pytest.fixture
def policy(directory):
    from assignments import services

    def _policy(slug, scope=None, approvers=None, **values):
        defaults = {"require_mfa_on_activation": False, "require_justification_on_activation": False,
                    "require_ticket_on_activation": False, "require_approval": False}
        defaults.update(values)
        return services.role_setting_update(
            actor=SETUP, role=directory.role(slug), scope=scope or directory.root, values=defaults,
            approver_ids=None if approvers is None else [p.principal.pk for p in approvers])

    return _policy


@pytest.fixture
def activate():
    from approvals import services

    def _activate(user, eligible_assignment, **kwargs):
        kwargs.setdefault("duration_minutes", 60)
        kwargs.setdefault("justification", "payment run")
        kwargs.setdefault("mfa_verified_at", timezone.now())
        return services.request_self_activate(actor=user, eligible_assignment=eligible_assignment, **kwargs)

    return _activate
