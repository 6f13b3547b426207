"""Users are created (with or without a password), edited, disabled and enabled through pages; offboarding
shows what will end, then disables the user and ends every assignment in the same transaction."""

from django.urls import reverse

from assignments.models import Assignment, User
from audit.models import AuditEvent


def test_create_edit_offboard_and_enable_in_pages(client, directory, global_admin, verified):
    client.force_login(global_admin)
    verified(client)
    response = client.post(reverse("directory:user_create"), {
        "username": "newhire", "display_name": "New Hire", "email": "newhire@example.com", "time_zone": "",
        "password": ""})
    assert response.status_code == 302, response.content.decode()[:2000]
    user = User.objects.get(username="newhire")
    assert not user.has_usable_password()  # single sign-on only
    response = client.post(reverse("directory:user_edit", args=[user.pk]), {
        "display_name": "New Hire (Ops)", "email": "nh@example.com", "time_zone": "Asia/Tokyo"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.display_name, user.email, user.time_zone, user.principal.email) == (
        "New Hire (Ops)", "nh@example.com", "Asia/Tokyo", "nh@example.com")

    group = directory.group("Ops")
    directory.add_member(group, user)
    eligible = directory.grant(user, "helpdesk-administrator", kind="eligible")
    directory.grant(user, "reader", "/subscriptions/off", kind="active")

    page = client.get(reverse("directory:user_offboard", args=[user.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Helpdesk Administrator" in text and "/subscriptions/off" in text and "3 assignments end" in text

    response = client.post(reverse("directory:user_offboard", args=[user.pk]), {"justification": "Left the company"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active and not user.principal.enabled
    assert not Assignment.objects.filter(principal=user.principal, status="live").exists()
    eligible.refresh_from_db()
    assert eligible.end_reason == Assignment.EndReason.PRINCIPAL_DISABLED
    assert AuditEvent.objects.filter(action="user.disable", target_id=str(user.pk),
                                     justification="Left the company").exists()

    response = client.post(reverse("directory:user_enable", args=[user.pk]), {"justification": "Rehired"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.is_active  # enabled again, holding nothing until assigned again
    assert not Assignment.objects.filter(principal=user.principal, status="live").exists()


def test_a_password_makes_a_local_account_and_a_weak_one_is_refused(client, global_admin, verified):
    client.force_login(global_admin)
    verified(client)
    weak = client.post(reverse("directory:user_create"), {"username": "weak", "password": "123"})
    assert weak.status_code == 400
    assert not User.objects.filter(username="weak").exists()
    ok = client.post(reverse("directory:user_create"), {"username": "local", "password": "a-long-passphrase-42"})
    assert ok.status_code == 302
    assert User.objects.get(username="local").check_password("a-long-passphrase-42")


def test_without_a_fresh_verification_the_page_asks_for_it(client, global_admin):
    client.force_login(global_admin)
    response = client.post(reverse("directory:user_create"), {"username": "later"})
    assert response.status_code == 302 and reverse("accounts:verify") in response["Location"]
    assert not User.objects.filter(username="later").exists()
