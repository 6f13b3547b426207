"""Fixtures for the request pipeline: a policy on a role and eligible people."""

import pytest
from django.utils import timezone

from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


@pytest.fixture
def policy(directory):
    """Set the policy of a role at a scope (root by default): policy("helpdesk-administrator", ...)."""
    from assignments import services

    def _policy(slug, scope=None, approvers=None, **values):
        defaults = {"require_mfa_on_activation": False, "require_justification_on_activation": False,
                    "require_ticket_on_activation": False, "require_approval": False}
        defaults.update(values)
        return services.role_setting_update(
            actor=SETUP, role=directory.role(slug), scope=scope or directory.root, values=defaults,
            approver_ids=None if approvers is None else [p.pk if not hasattr(p, "principal") else p.principal.pk
                                                         for p in approvers])

    return _policy


@pytest.fixture
def eligible(directory):
    def _eligible(who, slug="helpdesk-administrator", scope=None, end=None):
        return directory.grant(who, slug, scope, kind="eligible", end=end)

    return _eligible


@pytest.fixture
def activate():
    """Call request_self_activate with sensible defaults (fresh MFA, a justification)."""
    from approvals import services

    def _activate(user, eligible_assignment, **kwargs):
        kwargs.setdefault("duration_minutes", 60)
        kwargs.setdefault("justification", "incident 42")
        kwargs.setdefault("mfa_verified_at", timezone.now())
        return services.request_self_activate(actor=user, eligible_assignment=eligible_assignment, **kwargs)

    return _activate


@pytest.fixture
def approver(directory):
    """A named approver user."""
    return directory.user("approver")
