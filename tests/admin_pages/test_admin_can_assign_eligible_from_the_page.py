from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment
from audit.models import AuditEvent


def test_privileged_role_administrator_assigns_time_bound_eligible_from_the_form(directory, pra_client):
    alice = directory.user("alice")
    role = directory.role("exchange-administrator")
    end = (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)

    page = pra_client.get(reverse("assignments:assign"))
    assert page.status_code == 200
    assert b'name="principal_q"' in page.content

    response = pra_client.post(reverse("assignments:assign"), {
        "principal": alice.principal.pk, "role": role.pk, "scope": "/", "kind": "eligible",
        "end_at": end.strftime("%Y-%m-%dT%H:%M"), "justification": "Runs the mail migration",
        "ticket_system": "JIRA", "ticket_number": "OPS-12",
    })

    assignment = Assignment.objects.get(principal=alice.principal, role=role)
    assert response.status_code == 302
    assert response["Location"] == reverse("assignments:detail", args=[assignment.pk])
    assert assignment.kind == Assignment.Kind.ELIGIBLE
    assert assignment.end_at == end
    assert assignment.ticket_number == "OPS-12"
    assert AuditEvent.objects.filter(action="assignment.create", outcome="success").exists()

    detail = pra_client.get(response["Location"])
    assert "now time-bound eligible for Exchange Administrator" in detail.content.decode()


def test_permanent_eligible_needs_no_end_date(directory, pra_client):
    bob = directory.user("bob")
    role = directory.role("helpdesk-administrator")
    response = pra_client.post(reverse("assignments:assign"), {
        "principal": bob.principal.pk, "role": role.pk, "scope": "/", "kind": "eligible", "permanent": "on",
    })
    assert response.status_code == 302
    assert Assignment.objects.get(principal=bob.principal, role=role).end_at is None


def test_neither_end_nor_permanent_is_a_form_error_and_nothing_is_created(directory, pra_client):
    bob = directory.user("bob")
    role = directory.role("helpdesk-administrator")
    response = pra_client.post(reverse("assignments:assign"), {
        "principal": bob.principal.pk, "role": role.pk, "scope": "/", "kind": "eligible",
    })
    assert response.status_code == 400
    assert "Set an end, or tick Permanent." in response.content.decode()
    assert not Assignment.objects.filter(principal=bob.principal, role=role).exists()


def test_no_js_picker_search_re_renders_the_form_with_matches(directory, pra_client):
    directory.user("zelda.search")
    response = pra_client.post(reverse("assignments:assign"), {
        "principal_q": "zelda", "_search": "principal", "justification": "keep me",
    })
    content = response.content.decode()
    assert response.status_code == 200
    assert "Zelda.Search" in content and 'type="radio" name="principal"' in content
    assert "keep me" in content  # what was typed survives the search
    assert not Assignment.objects.filter(justification="keep me").exists()
