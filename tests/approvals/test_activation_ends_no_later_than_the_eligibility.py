from datetime import timedelta


def test_the_activation_is_cut_at_the_end_of_the_eligibility(directory, requester, policy, eligible, activate, later):
    policy("helpdesk-administrator", max_activation_minutes=8 * 60)
    eligibility = eligible(requester, end=later(hours=1))
    request = activate(requester, eligibility, duration_minutes=8 * 60)
    assert request.assignment.end_at == eligibility.end_at
    assert "eligibility ends" in request.status_message
    assert request.assignment.end_at - request.assignment.start_at < timedelta(hours=1, seconds=1)
