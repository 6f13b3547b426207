"""The portal's Django admin site: a read-only data browser for active Global Administrators.

Who gets in is decided like everything else in the portal, by the access check: an active Global
Administrator assignment now, plus a fresh MFA verification (the same freshness window as an
activation that requires MFA). Django's `is_staff` and `is_superuser` flags neither admit nor are
needed: a superuser is not standing privilege. Sign-in goes through the portal's own page (rate
limits, SSO, audit), never through the admin's login form.

Every registered model admin is made read-only here, whatever class its app registered (third-party
ones too: MFA devices, SSO accounts, SSO applications), so a write cannot bypass the services.
"""

from urllib.parse import urlencode

from django.contrib.admin import AdminSite, ModelAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from core.admin import ReadOnlyMixin


def _read_only(cls: type) -> type:
    return cls if issubclass(cls, ReadOnlyMixin) else type(cls.__name__, (ReadOnlyMixin, cls),
                                                           {"__module__": cls.__module__})


def read_only_admin(admin_class: type[ModelAdmin]) -> type[ModelAdmin]:
    """`admin_class` with `ReadOnlyMixin` in front of it and of each of its inlines."""
    inlines = [_read_only(inline) for inline in admin_class.inlines]
    if issubclass(admin_class, ReadOnlyMixin) and inlines == list(admin_class.inlines):
        return admin_class
    return type(admin_class.__name__, (_read_only(admin_class),), {"__module__": admin_class.__module__,
                                                                   "inlines": inlines})


class PimAdminSite(AdminSite):
    site_header = "PIM portal data browser (read-only)"
    site_title = "PIM portal data browser"
    index_title = "Read-only view of the portal's tables; changes are made on the portal's pages"

    def has_permission(self, request) -> bool:
        from .permissions import django_admin_refusal

        return django_admin_refusal(request) is None

    def register(self, model_or_iterable, admin_class=None, **options):
        super().register(model_or_iterable, read_only_admin(admin_class or ModelAdmin), **options)

    def _next_url(self, request) -> str:
        value = request.GET.get("next") or ""
        if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                     require_https=request.is_secure()):
            return value
        return reverse("admin:index", current_app=self.name)

    def login(self, request, extra_context=None):
        """Where the admin sends everyone it does not admit: to the portal's sign-in, to the MFA
        step-up, or a 403 that says which role is missing."""
        from .permissions import ADMIN_NEEDS_MFA, ADMIN_NEEDS_SIGN_IN, django_admin_refusal

        next_url = self._next_url(request)
        refusal = django_admin_refusal(request)
        if refusal is None:
            return redirect(next_url)
        if refusal == ADMIN_NEEDS_SIGN_IN:
            return redirect_to_login(next_url, reverse("account_login"))
        if refusal == ADMIN_NEEDS_MFA:
            return redirect(reverse("accounts:verify") + "?" + urlencode({"next": next_url}))
        raise PermissionDenied(refusal)

    def password_change(self, request, extra_context=None):
        return redirect("account_change_password")  # one password page, the portal's

