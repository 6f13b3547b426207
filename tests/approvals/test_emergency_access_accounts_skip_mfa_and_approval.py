from approvals.models import Request
from assignments.models import User


def test_break_glass_activation_needs_neither_mfa_nor_approval(directory, policy, eligible, activate, approver):
    policy("helpdesk-administrator", require_mfa_on_activation=True, require_approval=True, approvers=[approver])
    breakglass = User.objects.get(username="breakglass1")
    request = activate(breakglass, eligible(breakglass), mfa_verified_at=None)
    assert request.status == Request.Status.PROVISIONED
