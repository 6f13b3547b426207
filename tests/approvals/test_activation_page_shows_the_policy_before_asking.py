from django.urls import reverse
from django.utils import timezone

from approvals.models import Request
from core.mfa import SESSION_KEY


def test_the_form_lists_duration_mfa_justification_ticket_and_approval(client, requester, policy, eligible, approver):
    policy("helpdesk-administrator", max_activation_minutes=120, require_mfa_on_activation=True,
           require_justification_on_activation=True, require_ticket_on_activation=True, require_approval=True,
           approvals_required=2, approvers=[approver])
    client.force_login(requester)
    page = client.get(reverse("approvals:activate", args=[eligible(requester).pk])).content.decode()
    policy_box = page.split('data-testid="policy"')[1].split("</section>")[0]
    for expected in ("2 h", "Multifactor authentication", "Verify now", "Justification", "Required",
                     "Ticket", "2 approvals from Approver"):
        assert expected in policy_box, expected


def test_stale_mfa_sends_the_requester_to_verification_then_the_activation_succeeds(
        client, directory, requester, policy, eligible):
    policy("helpdesk-administrator", require_mfa_on_activation=True)
    eligibility = eligible(requester)
    client.force_login(requester)
    url = reverse("approvals:activate", args=[eligibility.pk])
    response = client.post(url, {"scope": directory.root.pk, "duration_minutes": 60, "justification": "x"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:verify"))
    assert "next=" in response["Location"]
    session = client.session
    session[SESSION_KEY] = timezone.now().isoformat()
    session.save()
    response = client.post(url, {"scope": directory.root.pk, "duration_minutes": 60, "justification": "x"},
                           follow=True)
    assert b"is active now" in response.content
    assert Request.objects.get(action="self_activate").status == Request.Status.PROVISIONED
