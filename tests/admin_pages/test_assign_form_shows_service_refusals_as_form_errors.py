from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from assignments.models import Assignment
from core.actors import Actor

SETUP = Actor.system("test-setup")  # arranging the test, not the behaviour under test


def _post(client, **data):
    return client.post(reverse("assignments:assign"), data)


def test_service_principal_cannot_be_made_eligible(directory, pra_client):
    app = directory.service_principal("billing-app")
    response = _post(pra_client, principal=app.pk, role=directory.role("exchange-administrator").pk, scope="/",
                     kind="eligible", end_at=(timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M"))
    assert response.status_code == 400
    assert "Service principals cannot be eligible" in response.content.decode()
    assert not Assignment.objects.filter(principal=app).exists()


def test_group_not_role_assignable_cannot_hold_a_directory_role(directory, pra_client):
    group = directory.group("Mail team")
    response = _post(pra_client, principal=group.pk, role=directory.role("exchange-administrator").pk, scope="/",
                     kind="eligible", permanent="on")
    assert response.status_code == 400
    assert "was not created role-assignable" in response.content.decode()


def test_directory_role_at_a_subscription_is_refused_with_the_reason(directory, pra_client):
    directory.scope("/subscriptions/s1")
    response = _post(pra_client, principal=directory.user().principal.pk,
                     role=directory.role("exchange-administrator").pk, scope="/subscriptions/s1", kind="eligible",
                     permanent="on")
    assert response.status_code == 400
    assert "is a directory role: it can only be assigned at the directory root" in response.content.decode()


def test_policy_limit_on_end_date_is_shown_on_the_end_field(directory, pra_client):
    from assignments import services

    role = directory.role("helpdesk-administrator")

    services.role_setting_update(actor=SETUP, role=role, scope=directory.root,
                                 values={"allow_permanent_eligible": False, "expire_eligible_after": "P15D"})
    response = _post(pra_client, principal=directory.user().principal.pk, role=role.pk, scope="/",
                     kind="eligible", permanent="on")
    assert response.status_code == 400
    assert response.context["form"].errors["end_at"] == [
        "The policy of Helpdesk Administrator does not allow permanent eligible assignments: "
        "set an end date within 15 days."]


def test_duplicate_assignment_is_a_conflict_message(directory, pra_client):
    user = directory.user("dup")
    role = directory.role("exchange-administrator")
    directory.grant(user, "exchange-administrator", kind="eligible")
    response = _post(pra_client, principal=user.principal.pk, role=role.pk, scope="/", kind="eligible",
                     permanent="on")
    assert response.status_code == 409
    assert "already has an eligible assignment" in response.content.decode()
