"""Group owners (and Privileged Role / Global Administrators) configure a group's SCIM applications;
the token is stored encrypted and never shown again; recent operations show on the page."""

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from provisioning.crypto import unseal
from provisioning.models import ScimApplication
from tests.conftest import mark_mfa_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(directory, group_with_member_policy):
    user = directory.user("owner")
    directory.grant(user, "group-owner", group_with_member_policy.group_scope)
    return user


def test_a_group_owner_adds_an_application_and_sees_its_operations(client, owner, group_with_member_policy,
                                                                   scim_peer, directory, relay):
    group = group_with_member_policy
    other = directory.group("Not mine")
    client.force_login(owner)
    mark_mfa_verified(client)
    form_page = client.get(reverse("provisioning:scim_create"))
    assert form_page.status_code == 200
    assert list(form_page.context["form"].fields["group"].queryset) == [group]

    response = client.post(reverse("provisioning:scim_create"), {
        "group": group.pk, "name": "Payroll SaaS", "base_url": scim_peer.base_url, "token": scim_peer.token,
        "enabled": "on"})
    application = ScimApplication.objects.get()
    assert response.status_code == 302
    assert scim_peer.token not in application.token_sealed and unseal(application.token_sealed) == scim_peer.token
    detail = client.get(response["Location"])
    assert scim_peer.token.encode() not in detail.content
    assert AuditEvent.objects.filter(action="scim_app.create", actor_id=owner.pk).exists()

    refused = client.post(reverse("provisioning:scim_create"), {
        "group": other.pk, "name": "Sneaky", "base_url": scim_peer.base_url})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()

    directory.add_member(group, directory.user("alice"), kind="active")
    relay()
    page = client.get(response["Location"]).content.decode()
    assert "Add member" in page and "Done" in page and "member added" in page


def test_edit_keeps_replaces_or_removes_the_token_and_is_audited(client, owner, scim_app):
    client.force_login(owner)
    mark_mfa_verified(client)
    detail = reverse("provisioning:scim_detail", args=[scim_app.pk])
    base = {"name": "Payroll SaaS", "base_url": scim_app.base_url, "enabled": "on"}

    assert client.post(detail, base).status_code == 302  # nothing changed: no audit event
    scim_app.refresh_from_db()
    assert unseal(scim_app.token_sealed) == "peer-bearer-token-for-tests"

    client.post(detail, {**base, "new_token": "rotated-token"})
    scim_app.refresh_from_db()
    assert unseal(scim_app.token_sealed) == "rotated-token"

    both = client.post(detail, {**base, "new_token": "x", "remove_token": "on"})
    assert both.status_code == 400 and "not both" in both.content.decode()

    client.post(detail, {**base, "remove_token": "on"})
    scim_app.refresh_from_db()
    assert scim_app.token_sealed == ""

    bad = client.post(detail, {**base, "base_url": "gopher://nowhere"})
    assert bad.status_code == 400 and "Enter a valid URL" in bad.content.decode()

    updates = AuditEvent.objects.filter(action="scim_app.update")
    assert updates.count() == 2 and all(e.actor_id == owner.pk for e in updates)

    client.post(reverse("provisioning:scim_delete", args=[scim_app.pk]))
    assert not ScimApplication.objects.exists()
    assert AuditEvent.objects.filter(action="scim_app.delete").exists()


def test_people_who_do_not_own_the_group_are_refused(client, directory, scim_app):
    stranger = directory.user("stranger")
    directory.grant(stranger, "group-owner", directory.group("Another").group_scope)
    client.force_login(stranger)
    mark_mfa_verified(client)

    assert client.get(reverse("provisioning:scim_detail", args=[scim_app.pk])).status_code == 403
    assert client.post(reverse("provisioning:scim_delete", args=[scim_app.pk])).status_code == 403
    index = client.get(reverse("provisioning:index"))
    assert index.status_code == 200 and b"Payroll SaaS" not in index.content

    nobody = directory.user("nobody")
    client.force_login(nobody)
    mark_mfa_verified(client)
    assert client.get(reverse("provisioning:index")).status_code == 403
    assert client.get(reverse("provisioning:scim_create")).status_code == 403


def test_the_service_refuses_a_non_owner_and_a_duplicate(directory, scim_app, global_admin):
    from core.errors import DomainError
    from provisioning.services import scim_application_create

    with pytest.raises(DomainError) as refused:
        scim_application_create(actor=directory.user("x"), group=scim_app.group, name="n", base_url=scim_app.base_url,
                                mfa_verified_at=timezone.now())
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as duplicate:
        scim_application_create(actor=global_admin, group=scim_app.group, name="n", base_url=scim_app.base_url,
                                mfa_verified_at=timezone.now())
    assert duplicate.value.code == "conflict"


def test_test_the_connection_says_whether_url_and_token_work(client, owner, scim_app, scim_peer, global_admin):
    from provisioning.services import scim_application_update

    client.force_login(owner)
    mark_mfa_verified(client)
    check = reverse("provisioning:scim_check", args=[scim_app.pk])
    assert "The application answered: 0 user(s)." in client.post(check, follow=True).content.decode()

    scim_application_update(actor=global_admin, application=scim_app, name=scim_app.name,
                            base_url=scim_app.base_url, enabled=True, token="wrong", mfa_verified_at=timezone.now())
    page = client.post(check, follow=True).content.decode()
    assert "did not answer as expected" in page and "401" in page and "bearer token" in page

    scim_peer.stop()
    assert "Could not reach the application" in client.post(check, follow=True).content.decode()


def test_refusals_are_audited(directory, scim_app):
    from core.errors import DomainError
    from provisioning.services import scim_application_delete, webhook_endpoint_create

    stranger = directory.user("stranger")
    for attempt in (lambda: scim_application_delete(actor=stranger, application=scim_app,
                                                    mfa_verified_at=timezone.now()),
                    lambda: webhook_endpoint_create(actor=stranger, url="https://example.com/h",
                                                    event_types=["assignment.created"],
                                                    mfa_verified_at=timezone.now())):
        with pytest.raises(DomainError):
            attempt()

    denied = AuditEvent.objects.filter(outcome=AuditEvent.Outcome.DENIED, actor_id=stranger.pk)
    assert sorted(denied.values_list("action", flat=True)) == ["scim_app.delete", "webhook.create"]
    assert ScimApplication.objects.filter(pk=scim_app.pk).exists()
