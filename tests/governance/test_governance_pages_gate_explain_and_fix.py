"""The governance pages: directory readers and administrators only; the what-if explains a decision
(and answers bad input with 400, never 500); conflict sets and exceptions are saved after a step-up;
a right-sizing fix is one click."""

from datetime import timedelta

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from governance.models import ConflictException, ConflictSet


def test_pages_are_for_directory_viewers(directory, global_admin):
    outsider = Client()
    outsider.force_login(directory.user("outsider"))
    admin = Client()
    admin.force_login(global_admin)
    for name in ("governance:whatif", "governance:separation", "governance:rightsizing"):
        assert outsider.get(reverse(name)).status_code == 403
        response = admin.get(reverse(name))
        assert response.status_code == 200 and b"<h1>" in response.content


def test_whatif_page_explains_and_refuses_bad_input(directory, global_admin):
    user = directory.user("asker")
    directory.scope("/subscriptions/s1/resourceGroups/rg1")
    directory.grant(user, "contributor", "/subscriptions/s1", kind="eligible")
    client = Client()
    client.force_login(global_admin)
    role = directory.role("contributor")
    response = client.get(reverse("governance:whatif"), {
        "principal": user.principal.pk, "role": role.pk, "scope": "/subscriptions/s1/resourceGroups/rg1",
        "justification": "deploy", "mfa_verified": "on"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Would be activated at once." in text or "Would wait for approval." in text
    assert "directly, at the ancestor scope /subscriptions/s1" in text
    for bad in ({"principal": user.principal.pk, "role": role.pk, "scope": "/nowhere"},
                {"principal": user.principal.pk, "role": role.pk, "scope": "/", "proposed_values": "[1]"},
                {"principal": user.principal.pk, "role": role.pk, "scope": "/",
                 "proposed_values": '{"max_activation_minutes": 5}'},
                {"principal": user.principal.pk, "role": role.pk, "scope": "/", "proposed_values": '{"nope": 1}'}):
        assert client.get(reverse("governance:whatif"), bad).status_code == 400, bad
    proposed = client.get(reverse("governance:whatif"), {
        "principal": user.principal.pk, "role": role.pk, "scope": "/subscriptions/s1", "proposed_scope": "/",
        "proposed_values": '{"require_ticket_on_activation": true}', "mfa_verified": "on", "justification": "x"})
    assert proposed.status_code == 200 and "requires a ticket" in proposed.content.decode()


def test_conflict_set_and_exception_are_saved_after_a_step_up(directory, global_admin, verified):
    client = Client()
    client.force_login(global_admin)
    roles = [directory.role("contributor").pk, directory.role("reader").pk]
    form = {"set-name": "Build and ship", "set-mode": "refuse", "set-roles": roles}
    response = client.post(reverse("governance:separation"), form)
    assert response.status_code == 302 and reverse("accounts:verify") in response["Location"]
    verified(client)
    assert client.post(reverse("governance:separation"), form).status_code == 302
    made = ConflictSet.objects.get(name="Build and ship")
    assert client.post(reverse("governance:separation"), {**form, "set-roles": roles[:1]}).status_code == 400
    person = directory.user("ops")
    end = (timezone.now() + timedelta(days=5)).strftime("%Y-%m-%dT%H:%M")
    assert client.post(reverse("governance:exception_grant"), {
        "exc-conflict_set": made.pk, "exc-principal": person.principal.pk, "exc-justification": "",
        "exc-end_at": end}).status_code == 400
    assert client.post(reverse("governance:exception_grant"), {
        "exc-conflict_set": made.pk, "exc-principal": person.principal.pk, "exc-justification": "migration",
        "exc-end_at": end}).status_code == 302
    exception = ConflictException.objects.get(principal=person.principal)
    assert client.post(reverse("governance:exception_revoke", args=[exception.pk])).status_code == 302
    exception.refresh_from_db()
    assert exception.revoked_at is not None
    assert AuditEvent.objects.filter(action__in=["conflict_set.create", "conflict_exception.grant",
                                                 "conflict_exception.revoke"], outcome="success").count() == 3
    assert client.post(reverse("governance:conflict_set_delete", args=[made.pk])).status_code == 302
    assert not ConflictSet.objects.filter(pk=made.pk).exists()
    assert client.post(reverse("governance:conflict_set_delete", args=[made.pk])).status_code == 404
