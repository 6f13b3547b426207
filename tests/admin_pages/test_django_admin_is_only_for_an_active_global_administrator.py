"""`/admin/` is gated by the access check, not by Django's flags: an active Global Administrator
assignment (and a fresh MFA verification, see the neighbouring test) admits; `is_superuser` and
`is_staff` neither admit nor are needed."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from tests.conftest import SETUP


def _security_administrator_policy(directory):
    """Security Administrator with MFA and approval on activation (as in the demo data)."""
    from assignments.services import role_setting_update

    return role_setting_update(actor=SETUP, role=directory.role("security-administrator"), scope=directory.root,
                               values={"require_mfa_on_activation": True, "require_approval": True})


def _superuser(user):
    user.is_staff = user.is_superuser = True
    user.save()
    return user


def test_a_superuser_without_an_active_global_administrator_assignment_is_refused(directory, fresh_login):
    root = _superuser(directory.user("root"))
    client = fresh_login(root)
    setting = _security_administrator_policy(directory)

    for url in ("/admin/", "/admin/assignments/rolesetting/", f"/admin/assignments/rolesetting/{setting.pk}/change/"):
        response = client.get(url, follow=True)
        assert response.status_code == 403, url
        assert b"active Global Administrator" in response.content

    client.post(f"/admin/assignments/rolesetting/{setting.pk}/change/", {"require_mfa_on_activation": "",
                                                                         "require_approval": ""})
    setting.refresh_from_db()
    assert setting.require_mfa_on_activation and setting.require_approval


def test_a_privileged_role_administrator_is_refused(directory, role_admin, fresh_login):
    assert fresh_login(role_admin).get("/admin/", follow=True).status_code == 403


def test_an_ended_global_administrator_assignment_no_longer_admits(directory, fresh_login):
    admin = _superuser(directory.user("temp-ga"))
    directory.grant(admin, "global-administrator", end=timezone.now() + timedelta(hours=1))
    client = fresh_login(admin)
    assert client.get("/admin/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, seconds=1)):
        session = client.session
        session["pim_mfa_verified_at"] = timezone.now().isoformat()
        session.save()
        assert client.get("/admin/", follow=True).status_code == 403


def test_an_active_global_administrator_without_staff_flags_is_admitted(directory, global_admin, fresh_login):
    assert not global_admin.is_staff and not global_admin.is_superuser
    client = fresh_login(global_admin)
    index = client.get("/admin/")
    assert index.status_code == 200 and b"/admin/assignments/rolesetting/" in index.content
    assert client.get("/admin/assignments/rolesetting/").status_code == 200
