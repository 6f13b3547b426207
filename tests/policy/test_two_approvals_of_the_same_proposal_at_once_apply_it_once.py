"""Two administrators approve the same proposal at the same moment (PostgreSQL, real transactions): it is
applied once, one version is recorded, and the other approval is refused with a conflict."""

import threading

import pytest
from django.db import connection

from core.errors import DomainError
from policy import services as policy
from policy.models import ConfigVersion, Proposal

KEY = "exchange-administrator@/"


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_once_apply_once(postgres, directory, role_admin, as_verified):
    approvers = []
    for name in ("second", "third"):
        user = directory.user(name)
        directory.grant(user, "privileged-role-administrator")
        approvers.append(user)
    policy.dual_control_set(actor=as_verified(role_admin), scope=directory.root, enabled=True)
    data = {**policy.KINDS["role_setting"].snapshot(KEY), "max_activation_minutes": 75}
    proposal = policy.proposal_create(actor=as_verified(role_admin), reason="race",
                                      changes=[{"kind": "role_setting", "key": KEY, "data": data}])
    versions_before = ConfigVersion.objects.filter(kind="role_setting", key=KEY).count()
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(user):
        try:
            barrier.wait()
            policy.proposal_approve(actor=as_verified(user), proposal=Proposal.objects.get(pk=proposal.pk))
            outcomes.append("applied")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["applied", "conflict"]
    assert ConfigVersion.objects.filter(kind="role_setting", key=KEY).count() == versions_before + 1
    proposal.refresh_from_db()
    assert proposal.status == "applied" and proposal.decided_by in approvers
