"""The Django admin only reads. Policies, users, roles, elevations, assignments, MFA devices and SSO
links change through the portal's services (validated and audited), never through `/admin/`: even an
admitted Global Administrator who is also a superuser cannot add, change or delete there."""

from django.contrib import admin
from django.test import RequestFactory
from django_otp.plugins.otp_totp.models import TOTPDevice

from assignments.models import Assignment
from audit.models import AuditEvent
from tests.conftest import SETUP


def _security_administrator_policy(directory):
    """Security Administrator with MFA and approval on activation (as in the demo data)."""
    from assignments.services import role_setting_update

    return role_setting_update(actor=SETUP, role=directory.role("security-administrator"), scope=directory.root,
                               values={"require_mfa_on_activation": True, "require_approval": True})


def _admitted_superuser(directory, fresh_login):
    admin_user = directory.user("ga-root")
    admin_user.is_staff = admin_user.is_superuser = True
    admin_user.save()
    directory.grant(admin_user, "global-administrator")
    return admin_user, fresh_login(admin_user)


def test_a_role_setting_cannot_be_changed_in_the_django_admin(directory, fresh_login):
    _, client = _admitted_superuser(directory, fresh_login)
    setting = _security_administrator_policy(directory)
    events = AuditEvent.objects.count()

    page = client.get(f"/admin/assignments/rolesetting/{setting.pk}/change/")
    assert page.status_code == 200 and b'name="require_mfa_on_activation"' not in page.content
    response = client.post(f"/admin/assignments/rolesetting/{setting.pk}/change/", {
        "role": setting.role_id, "scope": setting.scope_id, "max_activation_minutes": 60,
        "require_mfa_on_activation": "", "require_approval": "", "approvals_required": 1,
        "approval_window_minutes": 1440})
    assert response.status_code == 403
    setting.refresh_from_db()
    assert setting.require_mfa_on_activation and setting.require_approval
    assert AuditEvent.objects.count() == events


def test_add_and_delete_pages_are_refused(directory, fresh_login):
    admin_user, client = _admitted_superuser(directory, fresh_login)
    assignment = directory.grant(directory.user(), "reader", "/subscriptions/s1")
    for url in ("/admin/assignments/user/add/", "/admin/assignments/roledefinition/add/",
                "/admin/assignments/elevatedaccess/add/", "/admin/assignments/assignment/add/",
                "/admin/otp_totp/totpdevice/add/", "/admin/socialaccount/socialaccount/add/",
                "/admin/socialaccount/socialapp/add/", "/admin/account/emailaddress/add/",
                f"/admin/assignments/assignment/{assignment.pk}/delete/",
                f"/admin/assignments/user/{admin_user.pk}/password/"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/admin/assignments/assignment/{assignment.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Assignment.objects.filter(pk=assignment.pk).exists()
    assert not TOTPDevice.objects.exists()


def test_every_registered_model_admin_is_read_only(directory, fresh_login):
    admin_user, _ = _admitted_superuser(directory, fresh_login)
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    writable = []
    for model, model_admin in admin.site._registry.items():
        if (model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
                or model_admin.has_delete_permission(request) or model_admin.get_actions(request)):
            writable.append(model._meta.label)
        for inline in model_admin.get_inline_instances(request):
            if inline.has_add_permission(request, None) or inline.has_change_permission(request) \
                    or inline.has_delete_permission(request):
                writable.append(f"{model._meta.label} inline {inline.model._meta.label}")
    assert writable == []
