"""Fixtures for staged approval: a role whose policy has ordered stages, and deciding helpers."""

import pytest

from tests.approvals.conftest import SETUP


@pytest.fixture
def stages(directory, policy):
    """stages(slug, [dict(approvers=[users], approvals_required=1, ...), ...]) → the stages, with the
    role's policy requiring approval (no MFA, no justification: not what these tests are about)."""
    from assignments import services

    def _stages(slug, specs, scope=None, **values):
        policy(slug, scope=scope, require_approval=True, **values)
        given = []
        for spec in specs:
            spec = dict(spec)
            for name in ("approvers", "fallback_approvers"):
                spec[name] = [p.principal.pk if hasattr(p, "principal") else p.pk for p in spec.get(name, [])]
            given.append(spec)
        return services.role_setting_stages_set(actor=SETUP, role=directory.role(slug), scope=scope or directory.root,
                                                stages=given)

    return _stages


@pytest.fixture
def approve():
    from approvals import services

    def _approve(user, request, comment=""):
        return services.request_approve(actor=user, request=request, comment=comment)

    return _approve


@pytest.fixture
def outbox():
    """Email rows queued so far, by template."""
    from notifications.models import OutboxMessage

    class Outbox:
        def rows(self, template=None):
            qs = OutboxMessage.objects.filter(channel="email").order_by("pk")
            return [m for m in qs if template is None or m.payload.get("template") == template]

        def recipients(self, template):
            return sorted(m.payload["to"] for m in self.rows(template))

    return Outbox()
